"""ActivityPub federation: protocol JSON, signatures, guarded fetches, inbox and delivery."""
