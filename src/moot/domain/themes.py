"""The colour themes Moot's pages offer: an account's `theme`, and the site's `default_theme` for visitors."""

from __future__ import annotations

# "browser" follows the reader's device (prefers-color-scheme).
THEMES = ("browser", "light", "dark")
