"""Images: checking and re-encoding uploaded bytes (Pillow), the storage the files live in, and reading a linked
page's metadata. Below the actions, which record what is stored; imports only moot.domain and moot.settings."""
