"""HTTP concerns both adapters share (the v3 API in `api/`, the pages in `web/`, ActivityPub in `federation/`):
the per-process app state, rate limits and the client's address, body limits, the anonymous-read cache."""
