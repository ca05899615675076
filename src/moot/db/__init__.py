"""Tables, engine and sessions, dialect helpers and migrations."""
