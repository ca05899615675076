"""What rendered markdown links by itself: bare URLs, and mentions of communities and people.

linkify-it-py finds them (markdown-it-py's `linkify` rule runs it over text only: never inside code spans, code
blocks or existing links). Mentions are schemas of its own kind, as its Twitter example: `!news@host`,
`@alice@host`, `u/alice`, `/u/alice`, `c/news`, `/c/news`; each links to this site's page of that community or
person (`/c/news@host`, `/u/alice@host`, as web/render.py's community_url and person_url write them).
"""

from __future__ import annotations

import re
from typing import Any

from linkify_it import LinkifyIt

# Lemmy's actor names (letters, digits, underscore); longer than our own 20 for other software's people.
_NAME = r"[A-Za-z0-9_]{1,64}"
# A host as a handle carries it: dotted labels (or localhost), an optional port.
_HOST = r"(?:localhost|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{1,63})(?::[0-9]{1,5})?"
# A mention ends where the name or host ends: `@alice@host.org.` keeps its full stop out.
_END = r"(?![A-Za-z0-9_@-])"
_REMOTE = f"^{_NAME}@{_HOST}{_END}"
_LOCAL_OR_REMOTE = re.compile(f"{_NAME}(?:@{_HOST})?{_END}")


def make_linkify(*, mentions: bool) -> Any:
    """linkify-it with links only where the scheme is written (`http://`, `https://`, `mailto:`): no guessed
    `example.com` or `file.py` links, no bare addresses (`alice@host` is a person more often than a mailbox);
    with `mentions`, the community and person schemas above."""
    schemas: dict[str, Any] = {"ftp:": None, "//": None}
    if mentions:
        rules = _Mentions()
        schemas |= {
            "@": {"validate": _REMOTE, "normalize": rules.to_person},
            "!": {"validate": _REMOTE, "normalize": rules.to_community},
            "u/": {"validate": rules.short_name, "normalize": rules.to_person},
            "/u/": {"validate": rules.name, "normalize": rules.to_person},
            "c/": {"validate": rules.short_name, "normalize": rules.to_community},
            "/c/": {"validate": rules.name, "normalize": rules.to_community},
        }
    return LinkifyIt(schemas, {"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


class _Mentions:
    """The mention schemas' validators and normalizers (linkify-it takes bound methods for both)."""

    def name(self, text: str, pos: int) -> int:
        """The length of `name` or `name@host` after a `/u/` or `/c/`."""
        found = _LOCAL_OR_REMOTE.match(text, pos)
        return len(found.group(0)) if found else 0

    def short_name(self, text: str, pos: int) -> int:
        """As name after `u/` or `c/`, unless that is the tail of a path (`docs/u/file`)."""
        if pos >= 3 and text[pos - 3] == "/":
            return 0
        return self.name(text, pos)

    def to_person(self, match: Any) -> None:
        match.url = "/u/" + _handle(match.raw, match.schema)

    def to_community(self, match: Any) -> None:
        match.url = "/c/" + _handle(match.raw, match.schema)


def _handle(raw: str, schema: str) -> str:
    """`name` or `name@host` from the matched text, without its prefix."""
    return str(raw[len(schema) :])
