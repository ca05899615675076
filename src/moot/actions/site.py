"""Site setup and site settings: the first start, and what admins change later."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import applications, captcha, content_filter, images
from moot.actions.access import check_is_admin
from moot.actions.accounts import create_local_user
from moot.actions.instances import get_or_create_instance
from moot.actions.urlblocklist import replace_blocked_urls
from moot.db.federation import FederationAllowlist, FederationBlocklist
from moot.db.person import LocalUser
from moot.db.site import LocalSite, LocalSiteRateLimit, Secret, Site, SiteLanguage, Tagline
from moot.domain import validation
from moot.domain.apids import site_ap_id
from moot.domain.errors import LemmyError
from moot.domain.keys import generate_keypair
from moot.domain.languages import LANGUAGES
from moot.domain.themes import THEMES
from moot.domain.timefmt import utcnow
from moot.queries import defaults as site_defaults
from moot.queries.site import LocalSiteRow, load_local_site
from moot.queries.viewer import Actor
from moot.settings import Settings


async def ensure_site(session: AsyncSession, settings: Settings) -> LocalSiteRow:
    """On first start: the local instance, the site actor with its keys, default settings, the JWT secret,
    and the admin named by MOOT_SETUP_ADMIN_* (as Lemmy's `setup` block). Later starts change nothing."""
    existing = await load_local_site(session)
    if existing is not None:
        return existing
    now = utcnow()
    instance_id = await get_or_create_instance(session, settings.domain)
    keys = generate_keypair()
    site = Site(
        name=settings.setup_site_name,
        ap_id=site_ap_id(settings.base_url),
        inbox_url=f"{settings.base_url}/inbox",
        public_key=keys.public_pem,
        private_key=keys.private_pem,
        instance_id=instance_id,
        last_refreshed_at=now,
        published=now,
    )
    session.add(site)
    await session.flush()
    # Without a configured admin the site is not set up yet, and the first account to register becomes
    # its admin (as Lemmy's first-run flow does).
    local_site = LocalSite(site_id=site.id, published=now, site_setup=bool(settings.setup_admin_username))
    session.add(local_site)
    await session.flush()
    rate_limit = LocalSiteRateLimit(local_site_id=local_site.id, published=now)
    session.add(rate_limit)
    session.add(Secret(jwt_secret=secrets.token_urlsafe(48)))
    await session.flush()
    if settings.setup_admin_username:
        has_admin = await session.scalar(select(LocalUser.id).where(LocalUser.admin.is_(True)).limit(1))
        if has_admin is None:
            await create_local_user(
                session,
                settings,
                username=settings.setup_admin_username,
                password=settings.setup_admin_password,
                email=None,
                admin=True,
                check_name_length=False,
            )
    loaded = await load_local_site(session)
    if loaded is None:  # pragma: no cover - the rows were just written in this transaction
        raise RuntimeError("site setup did not persist")
    return loaded


SITE_FIELDS = ("name", "sidebar", "description", "icon", "banner", "content_warning")
LOCAL_SITE_FIELDS = (
    "enable_downvotes",
    "enable_nsfw",
    "community_creation_admin_only",
    "require_email_verification",
    "application_question",
    "private_instance",
    "default_theme",
    "default_post_listing_type",
    "default_sort_type",
    "legal_information",
    "application_email_admins",
    "hide_modlog_mod_names",
    "slur_filter_regex",
    "actor_name_max_length",
    "federation_enabled",
    "captcha_enabled",
    "captcha_difficulty",
    "registration_mode",
    "reports_email_admins",
    "default_post_listing_mode",
)
RATE_LIMIT_FIELDS = (
    "message",
    "message_per_second",
    "post",
    "post_per_second",
    "register",
    "register_per_second",
    "image",
    "image_per_second",
    "comment",
    "comment_per_second",
    "search",
    "search_per_second",
)


# Optional text settings: an empty string clears them (stored as NULL), as Lemmy's diesel_string_update does.
OPTIONAL_TEXT = frozenset(
    {
        "sidebar",
        "description",
        "icon",
        "banner",
        "content_warning",
        "application_question",
        "legal_information",
        "slur_filter_regex",
    }
)
KNOWN_LANGUAGE_IDS = frozenset(lang.id for lang in LANGUAGES)
SITE_NAME_MAX = 20
SITE_DESCRIPTION_MAX = 150
SIDEBAR_MAX = 10_000
DEFAULT_LISTING_TYPES = ("All", "Local")


def _check_slur_regex(pattern: object) -> None:
    if not isinstance(pattern, str) or not pattern:
        return
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise LemmyError("invalid_regex") from exc
    # A filter that matches an innocent "1" would match nearly everything.
    if compiled.search("1"):
        raise LemmyError("permissive_regex")


def _check_edit(changes: dict[str, object]) -> None:
    """Lemmy's validate_update_payload: refuse the whole edit before anything changes."""
    name = changes.get("name")
    if isinstance(name, str):
        if not name.strip():
            raise LemmyError("site_name_required")
        if validation.utf16_length(name) > SITE_NAME_MAX:
            raise LemmyError("site_name_length_overflow")
    description = changes.get("description")
    if isinstance(description, str) and validation.utf16_length(description) > SITE_DESCRIPTION_MAX:
        raise LemmyError("site_description_length_overflow")
    sidebar = changes.get("sidebar")
    if isinstance(sidebar, str) and validation.utf16_length(sidebar) > SIDEBAR_MAX:
        raise LemmyError("invalid_body_field")
    listing = changes.get("default_post_listing_type")
    if listing is not None and listing not in DEFAULT_LISTING_TYPES:
        raise LemmyError("invalid_default_post_listing_type")
    _check_slur_regex(changes.get("slur_filter_regex"))
    captcha.check_difficulty(changes.get("captcha_difficulty"))
    languages = changes.get("discussion_languages")
    if isinstance(languages, list) and not {i for i in languages if isinstance(i, int)} <= KNOWN_LANGUAGE_IDS:
        raise LemmyError("language_not_allowed")


# Settings Lemmy has and Moot does not implement yet: each is accepted only at the value that says what Moot does
# (or at the value already stored, so that a client sending back the whole form still saves), and refused
# otherwise, rather than stored to do nothing. README.md, "Site settings", lists them. (None today.)
_NOT_IMPLEMENTED: dict[str, tuple[object, str]] = {}
# Switches that only mean something when this server sends mail: turning one on without MOOT_SMTP_URL is refused
# (Lemmy's error when its email settings are missing), since no mail could ever arrive.
_NEED_MAIL = ("require_email_verification", "application_email_admins", "reports_email_admins")


def _stored(loaded: LocalSiteRow, key: str) -> object:
    return getattr(loaded.local_site, key)


def _check_supported(loaded: LocalSiteRow, changes: dict[str, object], mail_enabled: bool = False) -> None:
    """Refuse a setting Moot would store and then ignore (a careful admin expects a setting to do something)."""
    for key, (supported, reason) in _NOT_IMPLEMENTED.items():
        value = changes.get(key)
        if value is None or value == supported or value == _stored(loaded, key):
            continue
        raise LemmyError("unknown", f"{key}: {reason}")
    for key in _NEED_MAIL:
        turned_on = changes.get(key) and not _stored(loaded, key)
        if turned_on and not mail_enabled:
            raise LemmyError("no_email_setup")
    theme = changes.get("default_theme")
    if theme is not None and theme not in THEMES:
        raise LemmyError("unknown", f"default_theme: this server's themes are {', '.join(THEMES)}")


async def _filter_texts(session: AsyncSession, loaded: LocalSiteRow, changes: dict[str, object]) -> None:
    """Lemmy 0.19's site edit: the name and description are refused with a slur (`slurs`), the sidebar loses its
    slurs and may not link to a blocked URL (`blocked_url`); the filter is the one the edit sets, else the stored
    one."""
    regex = changes.get("slur_filter_regex")
    slurs = validation.slur_pattern(regex if isinstance(regex, str) else loaded.local_site.slur_filter_regex)
    names = [changes.get(key) for key in ("name", "description")]
    content_filter.check_names(slurs, *(n for n in names if isinstance(n, str)))
    sidebar = changes.get("sidebar")
    if isinstance(sidebar, str) and sidebar:
        changes["sidebar"] = await content_filter.filter_markdown(session, slurs, sidebar)


def _apply(target: object, keys: tuple[str, ...], changes: dict[str, object]) -> None:
    for key in keys:
        value = changes.get(key)
        if value is None:
            continue
        setattr(target, key, None if key in OPTIONAL_TEXT and value == "" else value)


async def edit_site(
    session: AsyncSession, actor: Actor, changes: dict[str, object], *, mail_enabled: bool = False
) -> None:
    """Apply an EditSite form; only the fields present change. Admins only (the access gate). `mail_enabled`:
    this server has mail settings (email verification can be required)."""
    check_is_admin(actor)
    await apply_site_settings(session, changes, mail_enabled=mail_enabled)


async def apply_site_settings(session: AsyncSession, changes: dict[str, object], *, mail_enabled: bool = False) -> None:
    """The change itself, for `edit_site` and for the operator's own tools (`moot bench seed`)."""
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    _check_edit(changes)
    _check_supported(loaded, changes, mail_enabled)
    await _filter_texts(session, loaded, changes)
    verification_before = loaded.local_site.require_email_verification
    applications.check_application_question(loaded.local_site, changes)
    mode_before = loaded.local_site.registration_mode
    now = utcnow()
    replaced = [loaded.site.icon, loaded.site.banner]
    _apply(loaded.site, SITE_FIELDS, changes)
    # A replaced icon or banner uploaded here that nothing else shows is deleted (as Lemmy).
    await images.release_uploads(session, replaced)
    _apply(loaded.local_site, LOCAL_SITE_FIELDS, changes)
    await applications.registration_mode_changed(session, mode_before, loaded.local_site.registration_mode)
    if loaded.local_site.require_email_verification and not verification_before:
        # As Lemmy: accounts made before the rule count as verified, so that none is locked out by it.
        await session.execute(update(LocalUser).values(email_verified=True))
    blocked_urls = changes.get("blocked_urls")
    if isinstance(blocked_urls, list):
        await replace_blocked_urls(session, [str(url) for url in blocked_urls])
    for key in RATE_LIMIT_FIELDS:
        value = changes.get(f"rate_limit_{key}")
        # A zero interval means "leave as it is" (as Lemmy); a zero count really means none allowed.
        if value is not None and not (key.endswith("_per_second") and value == 0):
            setattr(loaded.rate_limit, key, value)
    loaded.site.updated = now
    loaded.local_site.updated = now
    loaded.rate_limit.updated = now
    languages = changes.get("discussion_languages")
    if isinstance(languages, list):
        await session.execute(delete(SiteLanguage).where(SiteLanguage.site_id == loaded.site.id))
        session.add_all(SiteLanguage(site_id=loaded.site.id, language_id=int(i)) for i in set(languages))
    taglines = changes.get("taglines")
    if isinstance(taglines, list):
        await session.execute(delete(Tagline).where(Tagline.local_site_id == loaded.local_site.id))
        session.add_all(Tagline(local_site_id=loaded.local_site.id, content=str(t), published=now) for t in taglines)
    for key, table in (("allowed_instances", FederationAllowlist), ("blocked_instances", FederationBlocklist)):
        domains = changes.get(key)
        if isinstance(domains, list):
            await _replace_instance_list(session, table, [str(d) for d in domains])
    _forget_on_commit(session)


async def block_instances(session: AsyncSession, domains: list[str]) -> None:
    """Adds hosts to the site's federation blocklist, keeping what it holds: delivery, the inbox and every
    outbound fetch then leave them alone (`InstanceLists.permits`). An admin lifts it with `PUT /site`."""
    listed = set((await session.scalars(select(FederationBlocklist.instance_id))).all())
    now = utcnow()
    for domain in domains:
        instance_id = await get_or_create_instance(session, domain)
        if instance_id not in listed:
            session.add(FederationBlocklist(instance_id=instance_id, published=now))
            listed.add(instance_id)
    await session.flush()
    _forget_on_commit(session)


def _forget_on_commit(session: AsyncSession) -> None:
    """This process's copies of the site settings and instance lists are dropped once the change has committed:
    dropped before, a request reading in between would keep the old values for their whole lifetime (a blocked
    instance let in for seconds)."""
    site_defaults.forget()
    event.listen(session.sync_session, "after_commit", lambda _session: site_defaults.forget(), once=True)


async def _replace_instance_list(
    session: AsyncSession, table: type[FederationAllowlist] | type[FederationBlocklist], domains: list[str]
) -> None:
    """The admin's federation allowlist or blocklist, by host (as Lemmy, compared without the port)."""
    cleaned = sorted({d.strip().lower().rstrip(".") for d in domains if d.strip()})
    for domain in cleaned:
        if not re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", domain):
            raise LemmyError("unknown", f"not an instance host: {domain}")
    await session.execute(delete(table))
    now = utcnow()
    for domain in cleaned:
        session.add(table(instance_id=await get_or_create_instance(session, domain), published=now))
