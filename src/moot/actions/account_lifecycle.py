"""The rest of an account's life (Lemmy 0.19): deleting it (with or without its content), the donation dialog,
blocking an instance."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import account_deletion
from moot.db.instance import Instance
from moot.db.person import InstanceBlock, LocalUser, LoginToken
from moot.domain.errors import LemmyError
from moot.domain.passwords import verify_password
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.viewer import Actor


async def delete_account(
    session: AsyncSession, viewer: Actor, user: LocalUser, password: str, delete_content: bool
) -> None:
    """Lemmy's delete_account: the password again (`incorrect_login`), then the person is deleted by the one
    write path an inbound Delete{Person} takes too (account_deletion.delete_person: profile emptied, with
    `delete_content` their posts and comments deleted and counted as the author's own deletes, the communities
    they moderated left); here also their email and 2FA secret cleared and every login ended. Other servers
    receive a Delete of the person (with `removeData` when the content goes too)."""
    if not verify_password(user.password_encrypted, password):
        raise LemmyError("incorrect_login", status=401)
    person = await account_deletion.delete_person(session, viewer, user.person_id, delete_content)
    user.email = None
    user.totp_2fa_enabled = False
    user.totp_2fa_secret = None
    session.add(user)
    await session.execute(delete(LoginToken).where(LoginToken.user_id == user.id))
    await outbox.person_deleted(session, person, delete_content)


async def donation_dialog_shown(session: AsyncSession, user: LocalUser) -> None:
    """Lemmy's /user/donation_dialog_shown: the dialog is not shown again for a year (lemmy-ui decides)."""
    user.last_donation_notification = utcnow()
    session.add(user)


async def block_instance(
    session: AsyncSession, person_id: int, local_instance_id: int, instance_id: int, block: bool
) -> bool:
    """Block (or unblock) every community of an instance for this person's listings. The local instance cannot
    be blocked (`cant_block_local_instance`); blocking twice or unblocking what is not blocked changes nothing."""
    if instance_id == local_instance_id:
        raise LemmyError("cant_block_local_instance")
    if await session.get(Instance, instance_id) is None:
        raise LemmyError("couldnt_find_object", status=404)
    existing = await session.get(InstanceBlock, (person_id, instance_id))
    if block and existing is None:
        session.add(InstanceBlock(person_id=person_id, instance_id=instance_id, published=utcnow()))
    elif not block and existing is not None:
        await session.delete(existing)
    return block
