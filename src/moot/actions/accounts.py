"""Accounts: register, log in and out, change password, save settings."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import applications, captcha, content_filter, images, mail, totp
from moot.actions.access import is_site_banned
from moot.actions.instances import get_or_create_instance
from moot.db.mail import PasswordResetRequest
from moot.db.person import LocalUser, LocalUserLanguage, LoginToken, Person
from moot.db.site import SiteLanguage
from moot.domain import validation
from moot.domain.accept_language import language_tags
from moot.domain.apids import person_ap_id
from moot.domain.enums import RegistrationMode
from moot.domain.errors import LemmyError
from moot.domain.keys import generate_keypair
from moot.domain.languages import LANGUAGE_BY_CODE, LANGUAGES
from moot.domain.passwords import hash_password, verify_password
from moot.domain.timefmt import utcnow
from moot.domain.tokens import encode_login
from moot.queries.site import load_local_site
from moot.queries.viewer import Viewer
from moot.settings import Settings

KNOWN_LANGUAGE_IDS = frozenset(lang.id for lang in LANGUAGES)
UNDETERMINED_LANGUAGE_ID = 0
# local_user.interface_language is varchar(20) in Lemmy as here.
INTERFACE_LANGUAGE_MAX = 20


@dataclass(frozen=True, slots=True)
class Registration:
    username: str
    password: str
    password_verify: str
    email: str | None = None
    show_nsfw: bool | None = None
    honeypot: str | None = None
    answer: str | None = None
    # The request's Accept-Language header, as the client sent it.
    accept_language: str | None = None
    # Whether the form's captcha was answered (actions/captcha.redeem, in its own transaction just before).
    captcha_passed: bool = False


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
    interface_language: str | None = None,
    check_name_length: bool = True,
    max_name_length: int = validation.DEFAULT_ACTOR_NAME_MAX,
    accepted_application: bool = True,
) -> LocalUser:
    """The one way an account comes to exist: the person (with its keys), then the local user."""
    validation.check_actor_name(username, max_name_length if check_name_length else 255)
    validation.check_password(password)
    if await _local_person_by_name(session, username) is not None:
        raise LemmyError("user_already_exists")
    if email is not None:
        # Stored normalised (validation.normalize_email), so logins and uniqueness never depend on how it was typed.
        email = validation.normalize_email(email)
        taken = await session.scalar(select(LocalUser.id).where(func.lower(LocalUser.email) == email))
        if taken is not None:
            raise LemmyError("email_already_exists")
    if interface_language is not None and len(interface_language) > INTERFACE_LANGUAGE_MAX:
        # Where Lemmy's insert fails on the column's length, and the registration with it.
        raise LemmyError("unknown", "value too long for type character varying(20)")
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
        password_encrypted=hash_password(password, settings.password_hash_profile),
        email=email or None,
        admin=admin,
        show_nsfw=show_nsfw,
        accepted_application=accepted_application,
        default_listing_type=default_listing_type or "Local",
        post_listing_mode=post_listing_mode or "List",
        interface_language="browser" if interface_language is None else interface_language,
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


@dataclass(frozen=True, slots=True)
class Registered:
    """What a registration answers (Lemmy's LoginResponse): a login, or why there is none yet."""

    jwt: str | None
    registration_created: bool = False
    verify_email_sent: bool = False
    # The first account of a site without an admin becomes its admin (the sign-up page says so).
    became_admin: bool = False


async def register(
    session: AsyncSession, settings: Settings, form: Registration, ip: str | None, user_agent: str | None
) -> str | None:
    """`register_account`, answering only its login (None while the account waits)."""
    return (await register_account(session, settings, form, ip, user_agent)).jwt


async def register_account(
    session: AsyncSession, settings: Settings, form: Registration, ip: str | None, user_agent: str | None
) -> Registered:
    """Create an account and log it in. The first account on a site without an admin becomes its admin.
    On a site that requires applications, the account waits for an admin instead: no login, and its
    application is created (Lemmy's `registration_created`). On a site that requires email verification, a link
    is mailed to the address and the account logs in once it is followed (`verify_email_sent`)."""
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
    applications.check_answer(local_site, form.answer)
    validation.check_password(form.password)
    if form.password != form.password_verify:
        raise LemmyError("passwords_do_not_match")
    captcha.check_registration(local_site, form.captcha_passed)
    becomes_admin = not local_site.site_setup
    applying = local_site.site_setup and applications.requires_application(local_site)
    # Lemmy's register: a username or an answer with a slur is refused (actions/content_filter.py).
    slurs = validation.slur_pattern(local_site.slur_filter_regex)
    content_filter.check_names(slurs, form.username, form.answer)
    # Lemmy takes the interface language from the header's first language as it stands, known or not.
    tags = language_tags(form.accept_language)
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
        interface_language=tags[0] if tags else None,
        max_name_length=local_site.actor_name_max_length,
        accepted_application=not applications.requires_application(local_site),
    )
    languages = await _registration_languages(session, loaded.site.id, tags)
    if languages:
        await _set_languages(session, user, sorted(languages))
    verifying = not becomes_admin and local_site.require_email_verification and user.email is not None
    if becomes_admin:
        local_site.site_setup = True
    if verifying and user.email is not None:
        await mail.send_verification(session, settings, user.id, form.username, user.email)
    if applying:
        await applications.create_application(session, user, form.answer or "")
        if not verifying:
            # With an address to verify first, the admins hear of it once it is verified (mail.verify_email).
            await mail.notify_admins_of_application(session, settings, form.username)
    if applying or verifying:
        return Registered(None, registration_created=applying, verify_email_sent=verifying)
    return Registered(await issue_token(session, settings, user, ip, user_agent), became_admin=becomes_admin)


async def _registration_languages(session: AsyncSession, site_id: int, tags: list[str]) -> set[int]:
    """A new account's discussion languages, as Lemmy 0.19 (api_crud/src/user/create.rs) chooses them.

    A site that allows every language (no rows, or all of them) gives every language, whatever the header
    says. A site with chosen languages gives those, plus every language of the header that Lemmy knows by
    its exact code, even one the site did not choose (Lemmy's comment says the header should count only
    when the site chose none; its code does the opposite, and clients see the code)."""
    site = set((await session.scalars(select(SiteLanguage.language_id).where(SiteLanguage.site_id == site_id))).all())
    if not site or site == KNOWN_LANGUAGE_IDS:
        return set()
    from_header = {LANGUAGE_BY_CODE[tag].id for tag in tags if tag in LANGUAGE_BY_CODE}
    return site | from_header


@functools.cache
def _no_account_hash(profile: str) -> str:
    """Verified against when no account matches, so that an unknown login takes as long as a wrong password."""
    return hash_password("no account has this password", profile)


async def _login_account(session: AsyncSession, username_or_email: str) -> tuple[LocalUser, Person] | None:
    """The one account a login string names, or None. A string with "@" is an address and matches emails only,
    any other a name and matches names only (both in any case): an account's email can never shadow another's
    name. Two matches (accounts stored before names and emails were kept unique in any case) are refused rather
    than one picked."""
    given = username_or_email.strip()
    if validation.looks_like_email(given):
        try:
            wanted = validation.normalize_email(given)
        except LemmyError:
            wanted = given.lower()
        match = func.lower(LocalUser.email) == wanted
    else:
        match = func.lower(Person.name) == given.lower()
    rows = (
        await session.execute(
            select(LocalUser, Person)
            .join(Person, Person.id == LocalUser.person_id)
            .where(match, Person.local.is_(True))
            .limit(2)
        )
    ).all()
    if len(rows) != 1:
        return None
    return rows[0][0], rows[0][1]


async def login(
    session: AsyncSession,
    settings: Settings,
    username_or_email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    totp_2fa_token: str | None = None,
) -> str:
    found = await _login_account(session, username_or_email)
    if found is None:
        verify_password(_no_account_hash(settings.password_hash_profile), password)
        raise LemmyError("incorrect_login", status=401)
    user, person = found
    if not verify_password(user.password_encrypted, password) or person.deleted:
        raise LemmyError("incorrect_login", status=401)
    if is_site_banned(person):
        raise LemmyError("site_ban")
    await mail.check_may_log_in(session, user)
    await applications.check_may_log_in(session, user)
    totp.check_login(user, totp_2fa_token)
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
    user.password_encrypted = hash_password(new_password, settings.password_hash_profile)
    session.add(user)
    await session.execute(delete(LoginToken).where(LoginToken.user_id == user.id))
    await forget_password_resets(session, user.id)
    return await issue_token(session, settings, user, None, None)


async def forget_password_resets(session: AsyncSession, user_id: int) -> None:
    """Reset links mailed before a change of password or of email stop working: whoever holds the old mailbox (the
    reason for the change, often) cannot use one."""
    await session.execute(delete(PasswordResetRequest).where(PasswordResetRequest.local_user_id == user_id))


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
    session: AsyncSession,
    user: LocalUser,
    person: Person,
    changes: dict[str, object],
    *,
    settings: Settings | None = None,
) -> None:
    """Apply a SaveUserSettings form; fields left out stay as they are, empty strings clear text fields.
    Everything is checked before anything changes, so a refused form leaves the account as it was. On a site
    that requires email verification, a new address is mailed a link and replaces the old one once followed."""
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    _check_profile(changes, loaded.local_site.actor_name_max_length)
    old_avatar, old_banner = person.avatar, person.banner
    # The site's slur filter and blocked URLs (actions/content_filter.py): a display name with a slur is refused
    # (Lemmy refuses it only when the person arrives by federation, so other servers would refuse it anyway);
    # a bio loses its slurs and may not link to a blocked URL, as Lemmy's save_user_settings.
    slurs = validation.slur_pattern(loaded.local_site.slur_filter_regex)
    display_name = changes.get("display_name")
    bio = changes.get("bio")
    if isinstance(display_name, str):
        content_filter.check_names(slurs, display_name)
    if isinstance(bio, str):
        bio = await content_filter.filter_markdown(session, slurs, bio)
    if isinstance(display_name, str):
        person.display_name = display_name.strip() or None
    if isinstance(bio, str):
        person.bio = bio or None
    email = changes.get("email")
    if isinstance(email, str):
        cleaned = await _checked_email(session, user, email, loaded.local_site.require_email_verification)
        if settings is not None and loaded.local_site.require_email_verification and cleaned not in (None, user.email):
            await mail.send_verification(session, settings, user.id, person.name, cleaned or "")
        else:
            if cleaned != user.email:
                await forget_password_resets(session, user.id)
            user.email = cleaned
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
    # A replaced avatar or banner that this account uploaded and nothing else shows is deleted (as Lemmy).
    await images.release_uploads(session, [old_avatar, old_banner], local_user_id=user.id)


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
    if not email.strip():
        if required:
            raise LemmyError("email_required")
        return None
    cleaned = validation.normalize_email(email)
    taken = await session.scalar(
        select(LocalUser.id).where(func.lower(LocalUser.email) == cleaned, LocalUser.id != user.id)
    )
    if taken is not None:
        raise LemmyError("email_already_exists")
    return cleaned


async def _set_languages(session: AsyncSession, user: LocalUser, languages: Sequence[object]) -> None:
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


async def own_user(session: AsyncSession, viewer: Viewer) -> LocalUser:
    """The logged-in reader's account row in `session`, to change it (`not_logged_in` when it went since the
    login was read): what every page and API route that changes one's own account starts from."""
    user = await session.get(LocalUser, viewer.local_user.id)
    if user is None:
        raise LemmyError("not_logged_in", status=401)
    return user


async def own_account(session: AsyncSession, viewer: Viewer) -> tuple[LocalUser, Person]:
    """As `own_user`, with the person row too (profile fields live there)."""
    user = await own_user(session, viewer)
    person = await session.get(Person, viewer.person_id)
    if person is None:
        raise LemmyError("not_logged_in", status=401)
    return user, person
