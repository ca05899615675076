"""The engine, sessions for reading and for writing (a write's transaction, and the writes it sends with its
COMMIT), and the query counter tests use on hot paths."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.expression import Executable

from moot.db import sqlite_driver
from moot.db.fast_read import READ_SESSION, connection_and_driver, driver_errors, release
from moot.db.simple_query import Prepared, prepared
from moot.settings import Settings

# Counts statements per task when a test asks for it (`count_queries`), and costs nothing otherwise.
_query_counter: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("moot_queries", default=None)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    recorded = _query_counter.get()
    if recorded is not None:
        recorded.append(statement)


class _SharedRead:
    """The read session of one request's reads (`Database.shared_reads`): opened by the first, lent to one read
    at a time, closed when the request ends."""

    __slots__ = ("db", "lent", "open", "session")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: AsyncSession | None = None
        self.lent = False
        self.open = True


# The request's shared read session, when its reads share one (Database.shared_reads).
_shared_read: contextvars.ContextVar[_SharedRead | None] = contextvars.ContextVar("moot_shared_read", default=None)


async def give_back_shared_read() -> None:
    """The request's shared read session (`Database.shared_reads`), when idle, gives its pooled connection back;
    the next read takes one again. Before a write (a request would hold two, and requests holding one while they
    wait for another could take the whole pool) and before a request to another server (federation/fetch.py):
    seconds of waiting."""
    shared = _shared_read.get()
    if shared is not None and not shared.lent and shared.session is not None:
        session, shared.session = shared.session, None
        await session.close()


class WriteInReadSession(RuntimeError):
    """A read session tried to change a row: on PostgreSQL it has no transaction to roll the change back."""


def _refuse_writes(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        raise WriteInReadSession(f"a read session may not write: {statement[:80]}")


_ENDED = "write_ended"  # the key, in a write block's connection's info: its transaction has committed


def _refuse_writes_once_ended(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
    """After a write block's commit (`commit`) its session reads only: a write would run outside any transaction."""
    if conn.info.get(_ENDED):
        _refuse_writes(conn, cursor, statement, params, context, many)


class Database:
    """One per process. On SQLite, writes take a process-wide lock so that transactions never race to upgrade."""

    def __init__(self, settings: Settings) -> None:
        url = settings.effective_database_url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            # asyncpg prepares each statement once per connection, and PostgreSQL keeps a generic plan for it
            # after five runs (db/params.py): the pool hands out the most recently used connection (LIFO), whose
            # statements are prepared and planned; each connection keeps its 256 latest (100 by default).
            kwargs = {
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_pool_size,
                "pool_pre_ping": False,
                "pool_use_lifo": True,
                "connect_args": {"prepared_statement_cache_size": 256},
            }
        if url.startswith("sqlite+aiosqlite:"):
            # aiosqlite's connection with a cursor that runs a statement in one hand-off to its thread
            # (db/sqlite_driver.py): four per statement before.
            kwargs = {"module": sqlite_driver.dbapi()}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(self.engine.sync_engine, "before_cursor_execute", _count_statement)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # Reads on PostgreSQL run outside a transaction (autocommit): at READ COMMITTED each statement takes its
        # own snapshot either way, so BEGIN and ROLLBACK bought nothing but two round trips per read (a front
        # page: three round trips -> one). Nothing can be rolled back there, so a read session refuses writes.
        self.read_sessions = self.sessions
        # A write block's transaction on PostgreSQL is Moot's own (`write`): its BEGIN, and its end sent with the
        # writes kept for it, in one round trip. SQLAlchemy's connection is in autocommit under it (it sends
        # neither), and refuses a write once the block's transaction has ended (`_refuse_writes`).
        self.write_sessions = self.sessions
        if not self.is_sqlite:
            reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            event.listen(reader.sync_engine, "before_cursor_execute", _refuse_writes)
            self.read_sessions = async_sessionmaker(reader, expire_on_commit=False, autoflush=False)
            writer = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            event.listen(writer.sync_engine, "before_cursor_execute", _refuse_writes_once_ended)
            self.write_sessions = async_sessionmaker(writer, expire_on_commit=False, autoflush=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self, *, generic_plans: bool | None = False) -> AsyncIterator[AsyncSession]:
        """`generic_plans`: PostgreSQL plans each prepared statement once, whatever its parameters, for reads
        whose plan is the same index walk for any of them, where the planner would otherwise plan every request
        anew (1-2 ms for a logged-in community page) because its custom plans look cheaper (see `_plan_mode`).
        None: either mode does (lookups by primary key, such as the reader's login), and the connection is
        taken as it is: a logged-in request then changes the mode at most once."""
        shared = _shared_read.get()
        if shared is not None and shared.db is self and shared.open and not shared.lent:
            async with self._lent(shared, generic_plans) as session:
                yield session
            return
        async with self.read_sessions() as session:
            await self._reading(session, generic_plans)
            yield session

    async def _reading(self, session: AsyncSession, generic_plans: bool | None) -> None:
        if not self.is_sqlite:
            session.info[READ_SESSION] = True  # autocommit: a FastRead runs on its connection as it is
            if generic_plans is not None:
                await _plan_mode(session, generic=generic_plans)

    @asynccontextmanager
    async def _lent(self, shared: _SharedRead, generic_plans: bool | None) -> AsyncIterator[AsyncSession]:
        if shared.session is None:
            shared.session = self.read_sessions()
        session, shared.lent = shared.session, True
        try:
            await self._reading(session, generic_plans)
            yield session
        except BaseException:
            # A read that failed gives its session (and connection) back, as its own would: the next takes a new one.
            shared.session = None
            await session.close()
            raise
        else:
            # The next read starts as in a session of its own: nothing of this one (its entities are detached, as
            # when a session closes).
            session.expunge_all()
        finally:
            shared.lent = False

    @asynccontextmanager
    async def shared_reads(self) -> AsyncIterator[None]:
        """The reads within the block (one request's: its viewer, then what it shows) share one session, and
        one pooled connection, one at a time, instead of a session and a checkout each (~0.1 ms per read on
        PostgreSQL). A read while another is open (nested, or concurrent in a task of its own) takes a session of
        its own, as always. A write keeps its own session; it first gives the idle shared connection back
        (`give_back_shared_read`). The connection goes back to the pool when the block ends."""
        shared = _SharedRead(self)
        _shared_read.set(shared)
        try:
            yield
        finally:
            shared.open = False
            _shared_read.set(None)
            if shared.session is not None:
                await shared.session.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends without an exception, and rolls back otherwise.

        On PostgreSQL the transaction is sent by Moot itself: BEGIN as the block opens, and as it ends what the
        session holds (flushed), the writes kept for the commit and the COMMIT, in one round trip (`commit`).
        SQLAlchemy's commit of its own transaction was a round trip more, and the counters' COMMIT AND CHAIN
        needed it. A block that fails sends ROLLBACK; a connection that cannot take it leaves the pool."""
        await give_back_shared_read()
        if self._write_lock is not None:
            async with self._write_lock, self.sessions() as session, session.begin():
                yield session
            return
        async with self.write_sessions() as session:
            await _plan_mode(session, generic=False)
            connection, driver = await connection_and_driver(session)
            connection.info[_ENDED] = False
            session.info[_KEPT] = _Kept()
            try:
                await driver.execute("BEGIN")
                yield session
                await commit(session)
            except BaseException as error:
                await _roll_back(connection, driver, error)
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


_KEPT = "writes_at_commit"  # the key, in a PostgreSQL write session's info, of the writes it keeps for its end
_PREPARED = "prepared"  # the key, in a pooled connection's info, of the names PREPAREd on it (db/simple_query.py)


@dataclass(slots=True)
class _Kept:
    statements: list[tuple[Prepared, str]] = field(default_factory=list)  # each with its EXECUTE
    stale: list[tuple[object, Sequence[str]]] = field(default_factory=list)


def writes_at_commit(session: AsyncSession) -> bool:
    """Whether writes in this session may wait for its commit (`write_at_commit`): a PostgreSQL write block's."""
    return session.info.get(_KEPT) is not None


def write_at_commit(
    session: AsyncSession,
    statement: Executable,
    params: dict[str, Any],
    stale: Iterable[tuple[object, Sequence[str]]] = (),
) -> None:
    """Keep a write whose answer nobody reads for the commit (`writes_at_commit(session)` must hold): it goes out
    with the COMMIT in one simple query (`commit`), its values written out (db/simple_query.py). `stale`: objects
    of the session and the attributes the statement changes, expired once it has run.

    A comment moves counts that every comment in its thread moves too: its post's, its community's, its author's,
    its ancestors' reply counts. An UPDATE's row locks are held until the commit; run as a statement of its own, the
    counters' were held for the statement, its answer's way back, a turn of the busy event loop and the COMMIT's
    way out (4 ms p50, 16 ms p90 with 16 inbound replies to one post, measured) while every other reply to the
    thread waited. Kept for the end, their locks are held for the statements' own time. The activities a change
    records for federation (federation/outbox.py `record`) go the same way: a round trip less for each. SQLite
    runs one writer at a time (nothing waits on its locks, its round trips cost nothing) and runs writes where they
    are asked for; so does a session that is not a write block's (a test's, a script's)."""
    if session.info.get(READ_SESSION):  # after the block's commit: it would never be sent
        raise WriteInReadSession("a write kept after its write block's commit")
    kept: _Kept = session.info[_KEPT]
    statement_kept = prepared(statement, session.get_bind().dialect)
    kept.statements.append((statement_kept, statement_kept.execute(params)))
    kept.stale.extend(stale)


async def commit(session: AsyncSession) -> None:
    """End a write block's transaction (PostgreSQL): what the session holds (flushed), the writes kept for the
    commit and the COMMIT, in one round trip. The block may go on reading (the API's answer to a new comment,
    read with the thread's rows no longer locked): its session reads as a read session does, and refuses a
    write, which would not commit with the change. The block calls this as it ends (nothing then, if its
    caller did already). Elsewhere (SQLite, a session that is not a write block's) nothing: the session's own
    transaction ends with it."""
    if session.info.get(_KEPT) is None:
        return
    if session.info.get(READ_SESSION):  # committed already: what was added since would be lost
        if session.new or session.dirty or session.deleted:
            raise WriteInReadSession("a change made after its write block's commit")
        return
    connection = await _send_kept(session, "COMMIT")
    release(session)
    connection.info[_ENDED] = True
    session.info[READ_SESSION] = True  # FastReads run on it as on a read session's; FastWrites are refused
    # What waits for the commit (a settings change forgets this process's copies) runs as SQLAlchemy runs it.
    session.sync_session.dispatch.after_commit(session.sync_session)


async def send_kept_writes(session: AsyncSession) -> None:
    """The writes kept for the commit, sent now, in the transaction (one round trip), for a caller that acts on
    what they wrote before it ends (the demo takes its activities back out of the log). Nothing where none are
    kept (SQLite, a session that is not a write block's: they ran where they were asked for)."""
    kept: _Kept | None = session.info.get(_KEPT)
    if kept is not None and kept.statements:
        await _send_kept(session, None)


async def _send_kept(session: AsyncSession, end: str | None) -> AsyncConnection:
    """What the session holds (flushed), the kept writes and `end` (the COMMIT) in one simple query."""
    kept: _Kept = session.info[_KEPT]
    await session.flush()  # what the change added since its kept writes goes with them
    connection, driver = await connection_and_driver(session)
    # Each statement is planned once per connection, as the driver's own prepared statements are (a PREPARE
    # outlives a rollback: a name is remembered once its PREPARE has run).
    known: set[str] = connection.info.setdefault(_PREPARED, set())
    ending = [end] if end else []
    sql = "; ".join([*(execute for _, execute in kept.statements), *ending])
    if kept.statements:
        # count_queries records the statements the EXECUTEs run (tests name statements by their verb and table).
        _count_statement(
            None, None, "; ".join([*(statement.compiled.string for statement, _ in kept.statements), *ending])
        )
    with driver_errors(sql):  # as SQLAlchemy would raise them (a race on a unique key is retried)
        for statement, _ in kept.statements:
            if statement.name not in known:
                await driver.execute(statement.prepare)
                known.add(statement.name)
        status = await driver.execute(sql) if sql else None
    if end is not None and status != end:  # a transaction that had failed (an error swallowed) rolls back instead
        raise RuntimeError(f"the write block's transaction did not commit ({status})")
    kept.statements.clear()
    for item, names in kept.stale:
        session.expire(item, list(names))
    kept.stale.clear()
    return connection


async def _roll_back(connection: AsyncConnection, driver: Any, error: BaseException) -> None:
    """A failed block's transaction is rolled back, unless it had ended. A connection that cannot say for sure is
    taken out of the pool instead of being handed to the next block: one lost, or one whose task was cancelled
    (a statement, its BEGIN included, may still be on its way: the driver's state is not known yet)."""
    try:
        if not isinstance(error, Exception):  # a cancellation (or an exit) at any point of the block
            raise RuntimeError("the connection's state is not known")
        if not driver.is_closed() and driver.is_in_transaction():
            await driver.execute("ROLLBACK")
        if driver.is_closed() or driver.is_in_transaction():
            raise RuntimeError("the transaction is still open")
    except BaseException:
        await connection.invalidate(error if isinstance(error, Exception) else None)


_GENERIC = "generic_plans"  # the key, in a pooled connection's info, of the plan mode it was left in


async def _plan_mode(session: AsyncSession, *, generic: bool) -> None:
    """Leave the session's connection in the plan mode asked for: `plan_cache_mode = force_generic_plan`, or the
    server's own. Every read and write asks (Database.read, Database.write), and the mode a pooled connection is
    in is remembered with it, so a connection changes mode only when the request before it wanted the other one:
    a SET and a RESET around every such read cost 0.4 ms. Sent as a simple query outside any transaction (before
    a write's BEGIN), so no rollback can undo it behind the remembered mode."""
    connection = await session.connection()
    if connection.info.get(_GENERIC, False) == generic:
        return
    await (await _driver(session)).execute(
        "SET plan_cache_mode = force_generic_plan" if generic else "RESET plan_cache_mode"
    )
    connection.info[_GENERIC] = generic


async def _driver(session: AsyncSession) -> Any:
    """The session's asyncpg connection: what it runs is sent as a simple query, one round trip, where a
    statement through SQLAlchemy is prepared first (a SET and a RESET that way cost 0.7 ms of a request)."""
    return (await connection_and_driver(session))[1]


@asynccontextmanager
async def setting(session: AsyncSession, name: str, value: str, *, at_least: bool = False) -> AsyncIterator[None]:
    """A PostgreSQL setting (a planner switch, work_mem) for the statements inside the block only. A read has no
    transaction (see Database) and SET LOCAL outside one does nothing, so the connection's own value is set, and
    RESET before the block ends and the connection goes back to the pool. `at_least`, for a size: raised to
    `value`, never lowered below the server's own. Nothing on SQLite."""
    if session.get_bind().dialect.name == "sqlite":
        yield
        return
    connection = await _driver(session)
    if at_least:
        current = f"current_setting('{name}')"
        larger = f"CASE WHEN pg_size_bytes({current}) < pg_size_bytes({value}) THEN {value} ELSE {current} END"
        await connection.execute(f"SELECT set_config('{name}', {larger}, false)")
    else:
        await connection.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        await connection.execute(f"RESET {name}")


@asynccontextmanager
async def count_queries() -> AsyncIterator[list[str]]:
    """Record every SQL statement run by this task (and tasks it starts) inside the block."""
    recorded: list[str] = []
    token = _query_counter.set(recorded)
    try:
        yield recorded
    finally:
        _query_counter.reset(token)
