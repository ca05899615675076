"""Accounts: register, log in and out, change password, save settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.site import get_or_create_instance
from moot.db.person import LocalUser, LocalUserLanguage, LoginToken, Person
from moot.domain import validation
from moot.domain.apids import person_ap_id
from moot.domain.enums import RegistrationMode
from moot.domain.errors import LemmyError
from moot.domain.keys import generate_keypair
from moot.domain.languages import LANGUAGES
from moot.domain.passwords import hash_password, verify_password
from moot.domain.timefmt import utcnow
from moot.domain.tokens import encode_login
from moot.queries.site import load_local_site
from moot.settings import Settings

KNOWN_LANGUAGE_IDS = frozenset(lang.id for lang in LANGUAGES)
UNDETERMINED_LANGUAGE_ID = 0


@dataclass(frozen=True, slots=True)
class Registration:
    username: str
    password: str
    password_verify: str
    email: str | None = None
    show_nsfw: bool | None = None
    honeypot: str | None = None
    answer: str | None = None


async def _local_person_by_name(session: AsyncSession, name: str) -> Person | None:
    return await session.scalar(select(Person).where(func.lower(Person.name) == name.lower(), Person.local.is_(True)))


async def create_local_user(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str,
    password: str,
    email: str | None,
    admin: bool = False,
    show_nsfw: bool = False,
    default_listing_type: str | None = None,
    post_listing_mode: str | None = None,
    check_name_length: bool = True,
    max_name_length: int = validation.DEFAULT_ACTOR_NAME_MAX,
) -> LocalUser:
    """The one way an account comes to exist: the person (with its keys), then the local user."""
    validation.check_actor_name(username, max_name_length if check_name_length else 255)
    validation.check_password(password)
    if await _local_person_by_name(session, username) is not None:
        raise LemmyError("user_already_exists")
    if email is not None:
        # Lemmy keeps emails in lower case, so logins and uniqueness never depend on how it was typed.
        email = email.strip().lower()
        taken = await session.scalar(select(LocalUser.id).where(func.lower(LocalUser.email) == email))
        if taken is not None:
            raise LemmyError("email_already_exists")
    now = utcnow()
    keys = generate_keypair()
    ap_id = person_ap_id(settings.base_url, username)
    person = Person(
        name=username,
        ap_id=ap_id,
        local=True,
        instance_id=await get_or_create_instance(session, settings.domain),
        inbox_url=f"{ap_id}/inbox",
        shared_inbox_url=f"{settings.base_url}/inbox",
        public_key=keys.public_pem,
        private_key=keys.private_pem,
        last_refreshed_at=now,
        published=now,
    )
    session.add(person)
    await session.flush()
    user = LocalUser(
        person_id=person.id,
        password_encrypted=hash_password(password),
        email=email or None,
        admin=admin,
        show_nsfw=show_nsfw,
        accepted_application=True,
        default_listing_type=default_listing_type or "Local",
        post_listing_mode=post_listing_mode or "List",
        last_donation_notification=now,
        published=now,
    )
    session.add(user)
    await session.flush()
    return user


async def issue_token(
    session: AsyncSession, settings: Settings, user: LocalUser, ip: str | None, user_agent: str | None
) -> str:
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    token = encode_login(user.id, settings.domain, loaded.jwt_secret)
    session.add(LoginToken(token=token, user_id=user.id, published=utcnow(), ip=ip, user_agent=user_agent))
    return token


async def register(
    session: AsyncSession, settings: Settings, form: Registration, ip: str | None, user_agent: str | None
) -> str:
    """Create an account and log it in. The first account on a site without an admin becomes its admin."""
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    local_site = loaded.local_site
    if local_site.registration_mode == RegistrationMode.CLOSED and local_site.site_setup:
        raise LemmyError("registration_closed")
    if form.honeypot:
        raise LemmyError("honeypot_failed")
    if local_site.require_email_verification and not form.email:
        raise LemmyError("email_required")
    validation.check_password(form.password)
    if form.password != form.password_verify:
        raise LemmyError("passwords_do_not_match")
    becomes_admin = not local_site.site_setup
    # New accounts start from the site's defaults; a site with a content warning shows NSFW unless told not to.
    show_nsfw = form.show_nsfw if form.show_nsfw is not None else loaded.site.content_warning is not None
    user = await create_local_user(
        session,
        settings,
        username=form.username,
        password=form.password,
        email=form.email,
        admin=becomes_admin,
        show_nsfw=show_nsfw,
        default_listing_type=local_site.default_post_listing_type,
        post_listing_mode=local_site.default_post_listing_mode,
        max_name_length=local_site.actor_name_max_length,
    )
    if becomes_admin:
        local_site.site_setup = True
    return await issue_token(session, settings, user, ip, user_agent)


async def login(
    session: AsyncSession,
    settings: Settings,
    username_or_email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> str:
    name = username_or_email.strip()
    row = (
        await session.execute(
            select(LocalUser, Person)
            .join(Person, Person.id == LocalUser.person_id)
            .where(
                (func.lower(Person.name) == name.lower()) | (func.lower(LocalUser.email) == name.lower()),
                Person.local.is_(True),
            )
        )
    ).first()
    if row is None or row[1].deleted or not verify_password(row[0].password_encrypted, password):
        raise LemmyError("incorrect_login", status=401)
    user, person = row
    if person.banned and (person.ban_expires is None or person.ban_expires > utcnow()):
        raise LemmyError("site_ban")
    return await issue_token(session, settings, user, ip, user_agent)


async def logout(session: AsyncSession, token: str) -> None:
    await session.execute(delete(LoginToken).where(LoginToken.token == token))


async def change_password(
    session: AsyncSession,
    settings: Settings,
    user: LocalUser,
    old_password: str,
    new_password: str,
    new_password_verify: str,
) -> str:
    """A new password ends every other session: all login tokens go, and a fresh one is issued."""
    validation.check_password(new_password)
    if new_password != new_password_verify:
        raise LemmyError("passwords_do_not_match")
    if not verify_password(user.password_encrypted, old_password):
        raise LemmyError("incorrect_login", status=401)
    user.password_encrypted = hash_password(new_password)
    session.add(user)
    await session.execute(delete(LoginToken).where(LoginToken.user_id == user.id))
    return await issue_token(session, settings, user, None, None)


PERSON_SETTINGS = ("avatar", "banner", "matrix_user_id", "bot_account")
LOCAL_USER_SETTINGS = (
    "show_nsfw",
    "blur_nsfw",
    "auto_expand",
    "theme",
    "default_sort_type",
    "default_listing_type",
    "interface_language",
    "show_avatars",
    "send_notifications_to_email",
    "show_bot_accounts",
    "show_read_posts",
    "open_links_in_new_tab",
    "infinite_scroll_enabled",
    "post_listing_mode",
    "enable_keyboard_navigation",
    "enable_animated_images",
    "collapse_bot_comments",
    "show_scores",
    "show_upvotes",
    "show_downvotes",
    "show_upvote_percentage",
)


async def save_user_settings(
    session: AsyncSession, user: LocalUser, person: Person, changes: dict[str, object]
) -> None:
    """Apply a SaveUserSettings form; fields left out stay as they are, empty strings clear text fields.
    Everything is checked before anything changes, so a refused form leaves the account as it was."""
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    _check_profile(changes, loaded.local_site.actor_name_max_length)
    display_name = changes.get("display_name")
    if isinstance(display_name, str):
        person.display_name = display_name.strip() or None
    bio = changes.get("bio")
    if isinstance(bio, str):
        person.bio = bio or None
    email = changes.get("email")
    if isinstance(email, str):
        user.email = await _checked_email(session, user, email, loaded.local_site.require_email_verification)
    for key in PERSON_SETTINGS:
        value = changes.get(key)
        if value is not None:
            setattr(person, key, value or None if isinstance(value, str) else value)
    for key in LOCAL_USER_SETTINGS:
        value = changes.get(key)
        if value is not None:
            setattr(user, key, value)
    languages = changes.get("discussion_languages")
    if isinstance(languages, list):
        await _set_languages(session, user, languages)
    person.updated = utcnow()
    session.add_all([user, person])


# Matrix ids as Element accepts them: @localpart:server, with an optional port.
_MATRIX_ID = re.compile(r"@[A-Za-z0-9\x21-\x39\x3B-\x7F]+:[A-Za-z0-9.-]+(:[0-9]{2,5})?")


def _check_profile(changes: dict[str, object], name_max_length: int) -> None:
    display_name = changes.get("display_name")
    if isinstance(display_name, str) and display_name.strip():
        # Lemmy bounds display names by the site's actor name limit, not a fixed length.
        validation.check_display_name(display_name.strip(), name_max_length)
    bio = changes.get("bio")
    if isinstance(bio, str):
        validation.check_bio(bio)
    matrix_user_id = changes.get("matrix_user_id")
    if isinstance(matrix_user_id, str) and matrix_user_id and not _MATRIX_ID.fullmatch(matrix_user_id):
        raise LemmyError("invalid_matrix_id")
    for key in ("avatar", "banner"):
        value = changes.get(key)
        if isinstance(value, str) and value and not _is_web_url(value):
            raise LemmyError("invalid_url")


def _is_web_url(value: str) -> bool:
    """Images are shown in pages: only http(s) links with a host (never javascript: or data:)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and value.strip() == value


async def _checked_email(session: AsyncSession, user: LocalUser, email: str, required: bool) -> str | None:
    cleaned = email.strip().lower() or None
    if cleaned is None:
        if required:
            raise LemmyError("email_required")
        return None
    taken = await session.scalar(
        select(LocalUser.id).where(func.lower(LocalUser.email) == cleaned, LocalUser.id != user.id)
    )
    if taken is not None:
        raise LemmyError("email_already_exists")
    return cleaned


async def _set_languages(session: AsyncSession, user: LocalUser, languages: list[object]) -> None:
    """No rows means every language. Like Lemmy, a chosen subset always keeps "undetermined" (id 0), since
    much federated content carries no language tag."""
    chosen = {i for i in languages if isinstance(i, int)}
    if not chosen <= KNOWN_LANGUAGE_IDS:
        raise LemmyError("language_not_allowed")
    await session.execute(delete(LocalUserLanguage).where(LocalUserLanguage.local_user_id == user.id))
    if chosen:
        chosen.add(UNDETERMINED_LANGUAGE_ID)
    if chosen and chosen != KNOWN_LANGUAGE_IDS:
        session.add_all(LocalUserLanguage(local_user_id=user.id, language_id=i) for i in sorted(chosen))
