"""A write block's transaction (db/engine.py `Database.write`): it commits when the block ends and rolls back when it
fails; on PostgreSQL Moot sends BEGIN, and the end with the counters kept for it, itself. A block that fails however
(its statement's error, its connection lost, its task cancelled mid-statement) never hands a connection on inside
a transaction; a block that committed early reads on and refuses a change."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from conftest import backend
from moot.db.engine import Database, WriteInReadSession, commit, write_at_commit
from moot.db.federation import ReceivedActivity
from moot.domain.timefmt import utcnow

postgres_only = pytest.mark.skipif(backend() != "postgres", reason="SQLite's transactions are SQLAlchemy's own")


@pytest.fixture(autouse=True)
def _migrated(app: Any) -> None:
    """The test database's tables (the app migrates it as it starts)."""


def _received(ap_id: str) -> ReceivedActivity:
    return ReceivedActivity(ap_id=ap_id, published=utcnow())


async def _stored(db: Database, ap_id: str) -> bool:
    async with db.read() as session:
        return await session.scalar(select(ReceivedActivity.ap_id).where(ReceivedActivity.ap_id == ap_id)) is not None


async def _every_pooled_connection_is_idle(db: Database) -> None:
    """Several blocks at once take every pooled connection (and new ones): each starts outside a transaction."""

    async def block() -> None:
        async with db.write() as session:
            assert await session.scalar(text("SELECT 1")) == 1
            if backend() == "postgres":
                # One transaction, begun by the block: the same transaction id for both statements.
                first = await session.scalar(text("SELECT txid_current()"))
                assert await session.scalar(text("SELECT txid_current()")) == first

    await asyncio.gather(*(block() for _ in range(6)))


async def test_a_block_commits_or_rolls_back_whole(db: Database) -> None:
    kept, lost = f"https://t.example/{uuid.uuid4()}", f"https://t.example/{uuid.uuid4()}"
    async with db.write() as session:
        session.add(_received(kept))
    assert await _stored(db, kept)
    with pytest.raises(RuntimeError, match="after the change"):
        async with db.write() as session:
            session.add(_received(lost))
            await session.flush()
            raise RuntimeError("after the change")
    await _every_pooled_connection_is_idle(db)
    assert not await _stored(db, lost)  # nor committed by a block handed its connection


async def test_a_statements_error_rolls_the_block_back(db: Database) -> None:
    taken, lost = f"https://t.example/{uuid.uuid4()}", f"https://t.example/{uuid.uuid4()}"
    async with db.write() as session:
        session.add(_received(taken))
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(_received(lost))
            await session.flush()
            session.add(_received(taken))  # its key is taken
            await session.flush()
    await _every_pooled_connection_is_idle(db)
    assert not await _stored(db, lost)  # nor committed by a block handed its connection


@postgres_only
async def test_a_lost_connection_leaves_the_pool(db: Database) -> None:
    lost = f"https://t.example/{uuid.uuid4()}"
    with pytest.raises(DBAPIError):
        async with db.write() as session:
            session.add(_received(lost))
            await session.flush()
            backend_pid = await session.scalar(select(func.pg_backend_pid()))
            async with db.read() as other:
                assert await other.scalar(select(func.pg_terminate_backend(backend_pid, 5000)))
            await session.execute(text("SELECT 1"))
    await _every_pooled_connection_is_idle(db)
    assert not await _stored(db, lost)  # nor committed by a block handed its connection


@postgres_only
async def test_a_block_cancelled_mid_statement_hands_on_no_transaction(db: Database) -> None:
    lost = f"https://t.example/{uuid.uuid4()}"
    started = asyncio.Event()

    async def slow_block() -> None:
        async with db.write() as session:
            session.add(_received(lost))
            await session.flush()
            started.set()
            await session.execute(text("SELECT pg_sleep(30)"))

    task = asyncio.create_task(slow_block())
    await asyncio.wait_for(started.wait(), 10)

    async def sleeping() -> bool:  # the server runs the block's statement: it is cancelled mid-statement
        async with db.read() as session:
            running = text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(30)%'"
            )
            return bool(await session.scalar(running))

    deadline = asyncio.get_running_loop().time() + 10
    while not await sleeping():
        assert asyncio.get_running_loop().time() < deadline, "the block's statement never ran"
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _every_pooled_connection_is_idle(db)
    assert not await _stored(db, lost)  # nor committed by a block handed its connection


@postgres_only
async def test_after_an_early_commit_the_block_reads_and_refuses_changes(db: Database) -> None:
    kept, refused = f"https://t.example/{uuid.uuid4()}", f"https://t.example/{uuid.uuid4()}"
    with pytest.raises(WriteInReadSession):
        async with db.write() as session:
            session.add(_received(kept))
            await commit(session)
            assert await session.scalar(select(ReceivedActivity.ap_id).where(ReceivedActivity.ap_id == kept))
            session.add(_received(refused))  # left pending: it would be lost, so the block's end refuses it
    assert await _stored(db, kept)
    assert not await _stored(db, refused)
    await _every_pooled_connection_is_idle(db)


async def test_what_waits_for_the_commit_runs_after_it(db: Database) -> None:
    """A session's after_commit listeners run once its write commits (a settings change forgets this process's
    copies then: actions/site.py), and not when it rolls back."""
    committed: list[str] = []
    async with db.write() as session:
        event.listen(session.sync_session, "after_commit", lambda _s: committed.append("kept"), once=True)
        session.add(_received(f"https://t.example/{uuid.uuid4()}"))
    assert committed == ["kept"]
    with pytest.raises(RuntimeError, match="undone"):
        async with db.write() as session:
            event.listen(session.sync_session, "after_commit", lambda _s: committed.append("undone"), once=True)
            session.add(_received(f"https://t.example/{uuid.uuid4()}"))
            await session.flush()
            raise RuntimeError("undone")
    assert committed == ["kept"]


@postgres_only
async def test_a_block_whose_transaction_failed_does_not_pass_for_committed(db: Database) -> None:
    lost = f"https://t.example/{uuid.uuid4()}"
    with pytest.raises(RuntimeError, match="did not commit"):
        async with db.write() as session:
            session.add(_received(lost))
            await session.flush()
            with pytest.raises(DBAPIError):  # swallowed in the block: the transaction has failed all the same
                await session.execute(text("SELECT 1 / 0"))
    await _every_pooled_connection_is_idle(db)
    assert not await _stored(db, lost)


@postgres_only
async def test_a_write_kept_after_the_commit_is_refused(db: Database) -> None:
    with pytest.raises(WriteInReadSession):
        async with db.write() as session:
            await commit(session)
            write_at_commit(session, text("SELECT 1"), {})
