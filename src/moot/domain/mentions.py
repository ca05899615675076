"""`@name@host` mentions in markdown, found the way Lemmy finds them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MENTION = re.compile(r"(?<![\w/])@(?P<name>[\w.]+)@(?P<domain>[a-zA-Z0-9._:-]+[a-zA-Z0-9])")
MAX_MENTIONS = 50


@dataclass(frozen=True, slots=True)
class Mention:
    name: str
    domain: str


def scrape_mentions(text: str) -> list[Mention]:
    seen: dict[tuple[str, str], Mention] = {}
    for match in _MENTION.finditer(text):
        key = (match["name"].lower(), match["domain"].lower())
        seen.setdefault(key, Mention(name=match["name"], domain=match["domain"].lower()))
        if len(seen) >= MAX_MENTIONS:
            break
    return list(seen.values())
