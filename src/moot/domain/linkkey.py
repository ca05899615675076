"""The key of a link: two post URLs with the same key are "the same link", and their posts one discussion.

Only differences that never change what a page shows are dropped: the scheme, `www.` and the mobile and AMP
copies of a site, default ports, the fragment, a trailing slash, the case of the host, the order of the query
and the well-known tracking parameters. Everything else stays (a path's case, other parameters, other ports),
because joining two discussions of different pages is worse than leaving one link's discussions apart.
YouTube's short, mobile and Shorts addresses of a video are its `watch?v=` address."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

# Dropped from every link's query: ad and mail campaign identifiers that only say where a click came from.
TRACKING = frozenset(
    {
        "gclid",
        "gclsrc",
        "dclid",
        "fbclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "ref_url",
        "twclid",
        "wt_mc",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
    }
)
# Tracking only on the hosts named: elsewhere `si` or `feature` may select content.
_TRACKING_ON = {
    "youtube.com": frozenset({"si", "feature", "pp"}),
    "youtu.be": frozenset({"si", "feature", "pp"}),
    "open.spotify.com": frozenset({"si"}),
}
# Leading host labels that name a mobile or AMP copy of the same site (only taken off a host that keeps a dot).
_COPY_LABELS = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_YOUTUBE_HOSTS = frozenset({"youtube.com", "music.youtube.com", "youtube-nocookie.com"})
KEY_MAX = 2000  # the column's width: a key never outgrows it (re-encoding a query can lengthen it)


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    changed = True
    while changed:
        changed = False
        for label in _COPY_LABELS:
            rest = host.removeprefix(label)
            if rest != host and "." in rest:
                host, changed = rest, True
    return host


def _tracking(name: str, host: str) -> bool:
    key = name.lower()
    return key.startswith("utm_") or key in TRACKING or key in _TRACKING_ON.get(host, frozenset())


def _youtube(host: str, path: str, params: list[tuple[str, str]]) -> tuple[str, str, list[tuple[str, str]]] | None:
    """A YouTube video's one address, or None when the link is not a video."""
    video = None
    if host == "youtu.be" and path.strip("/"):
        video = path.strip("/").split("/")[0]
    elif host in _YOUTUBE_HOSTS:
        if path.rstrip("/") == "/watch":
            video = next((v for k, v in params if k == "v"), None)
            params = [(k, v) for k, v in params if k != "v"]
        elif path.startswith(("/shorts/", "/embed/", "/live/")):
            video = path.split("/")[2] or None
    if not video:
        return None
    return "youtube.com", "/watch", [("v", video), *sorted(params)]


def link_key(url: str) -> str:
    """The normalised form of `url` (which `validation.clean_url` has accepted) used to find its discussions."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url[:KEY_MAX]
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url[:KEY_MAX]  # magnet links and anything odd: only the very same text is the same link
    host = _host(parts.hostname)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k, host)]
    # AMP copies: a `/amp` path suffix, `?amp` or `?outputType=amp`.
    params = [(k, v) for k, v in params if not (k == "amp" and v in ("", "1")) and (k, v) != ("outputType", "amp")]
    path = parts.path
    if path.endswith(("/amp", "/amp/")):
        path = path.rstrip("/").removesuffix("/amp")
    path = path.rstrip("/")
    video = _youtube(host, path, params)
    if video is not None:
        host, path, params = video
        return f"{host}{path}?{urlencode(params)}"[:KEY_MAX]
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = urlencode(sorted(params))
    # A hashbang (`#!/route`) is the page itself on old single-page sites; any other fragment is a place in it.
    fragment = f"#{parts.fragment}" if parts.fragment.startswith("!") else ""
    return (f"{host}{path}" + (f"?{query}" if query else "") + fragment)[:KEY_MAX]
