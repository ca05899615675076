"""Hot reads sent straight to the driver: a statement built once is compiled once, and each run is the driver's
own call with the values in the statement's order.

Through SQLAlchemy every run of a statement computes its cache key (a walk of the whole statement: a post view's
select hashes ~340 elements), looks the compiled form up, builds an execution context and a result object, and
through the ORM session adds its own layer on top: about a third of the Python of `GET /post` (cProfile, four
statements). A read model's statements are built once (module constants, or kept per shape), so that work gives
the same answer every time. `FastRead` keeps the answer: the SQL, the order of its parameters, the values the
statement binds itself, and the conversions SQLAlchemy would apply to parameters and columns (none, for most).
`Entities` makes ORM entities of a row's columns where a caller needs them (the viewer, a vote's post).

Where it runs that way: PostgreSQL, in a read session (autocommit, `Database.read`) or a write whose transaction
has begun (a write block's, from its start: db/engine.py sends its BEGIN); SQLite, through Moot's own cursor
(db/sqlite_driver.py: the statement and its rows in one trip to the connection's thread; sqlite3 begins a write's
transaction itself, as under SQLAlchemy). Anywhere else (a PostgreSQL session before its first statement; an
engine made without Moot's SQLite driver; a statement with an expanding IN, whose SQL changes with each run's
list) the statement goes through `session.execute`, with the same rows. Rows are read by position (`tuple(row)`,
`row[0]`), which both kinds of row support. Every statement is announced to the engine's `before_cursor_execute`
listeners as SQLAlchemy announces its own (the query counter of the tests, the bench's recorder), and a database
error reaches the caller as SQLAlchemy's `DBAPIError`, as it would have. `FastWrite` does the same for a write
built once, never in a read session."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import inspect
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from moot.db import sqlite_driver

E = TypeVar("E")

READ_SESSION = "read_session"  # the key, in a session's info, set by Database.read (autocommit on PostgreSQL)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    compiled: SQLCompiler
    order: tuple[str, ...]  # the parameters' names, in the order of $1, $2, ...
    binds: dict[str, Any]  # conversions of parameters, by name (few: enums, mostly)
    # Values written into the SQL (`db/params.literal_param`: a LIMIT, an OFFSET 0 fence): the statement as
    # written for each set of them met so far (pages come in a few sizes).
    literal_names: tuple[str, ...]
    usual: bool  # run through SQLAlchemy all the same
    written: dict[tuple[Any, ...], tuple[str, tuple[str, ...], dict[str, Any]]]


_WRITTEN_MAX = 32  # sets of written values kept per statement; more are written out per run (as SQLAlchemy does)


class FastRead:
    """A SELECT built once (a module constant, or one kept per shape: never one built per request, which this
    would keep forever), run by `rows`, `first` or `scalar`."""

    __slots__ = ("_columns", "_compiled", "statement")

    def __init__(self, statement: Select[*tuple[Any, ...]] | UpdateBase) -> None:
        self.statement = statement
        # By dialect's name: a process may hold engines of both (the bench's SQLite beside PostgreSQL).
        self._compiled: dict[str, _Compiled] = {}
        # The conversions of the columns SQLAlchemy would apply (few types have any on asyncpg: a Numeric
        # read as float; on SQLite times, booleans and JSON), chosen by the column types as SQLAlchemy chooses
        # them: on PostgreSQL known after the first run (by the database's types), on SQLite as compiled. An
        # empty tuple: none at all.
        self._columns: dict[str, tuple[Callable[[Any], Any] | None, ...]] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if dialect.name == "sqlite":
            converters = tuple(
                column[3].dialect_impl(dialect).result_processor(dialect, None) for column in compiled._result_columns
            )
            self._columns[dialect.name] = converters if any(converters) else ()
        self._compiled[dialect.name] = _Compiled(
            sql=compiled.string,
            compiled=compiled,
            order=tuple(compiled.positiontup or ()),
            binds=dict(compiled._bind_processors),
            literal_names=tuple(compiled.bind_names[param] for param in compiled.literal_execute_params),
            written={},
            # An expanding IN is written out with every run's list, as SQLAlchemy does: such a statement keeps
            # going through it (`= ANY(:array)` would keep one statement).
            usual=bool(compiled.post_compile_params),
        )
        return self._compiled[dialect.name]

    @staticmethod
    def _written(compiled: _Compiled, given: Any) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """The SQL with this run's literal values written in, its parameters' order and their conversions."""
        if not compiled.literal_names:
            return compiled.sql, compiled.order, compiled.binds
        key = tuple(given[name] for name in compiled.literal_names)
        found = compiled.written.get(key)
        if found is None:
            state = compiled.compiled._process_parameters_for_postcompile(given)
            found = (state.statement, tuple(state.positiontup or ()), {**compiled.binds, **state.processors})
            if len(compiled.written) < _WRITTEN_MAX:
                compiled.written[key] = found
        return found

    async def rows(self, session: AsyncSession, params: dict[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        bind = session.get_bind()
        dialect = bind.dialect
        connection, driver = await connection_and_driver(session)
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        read_session = session.info.get(READ_SESSION, False)
        if compiled.usual or not self._runs_here(read_session):
            return await self._through_sqlalchemy(session, params)
        sqlite = isinstance(driver, sqlite_driver.Connection)
        if not sqlite and (dialect.name != "postgresql" or (not read_session and not driver.is_in_transaction())):
            # A PostgreSQL session whose transaction has not begun (a write block has: it sends its BEGIN as it
            # opens; a test's or a script's session begins with its first statement): SQLAlchemy begins it. On
            # SQLite the driver begins a write's transaction itself, as it does under SQLAlchemy.
            return await self._through_sqlalchemy(session, params)
        given = compiled.compiled.construct_params(params, escape_names=False)
        sql, order, binds = self._written(compiled, given)
        values = tuple(binds[name](given[name]) if name in binds else given[name] for name in order)
        if bind.dispatch.before_cursor_execute:
            bind.dispatch.before_cursor_execute(connection.sync_connection, None, sql, values, None, False)
        found: Sequence[Sequence[Any]]
        if sqlite:
            found = await self._sqlite_rows(driver, sql, values)
        else:
            found = await self._asyncpg_rows(connection, driver, compiled, sql, values)
        columns = self._columns.get(dialect.name)
        if not columns:
            return found
        return [
            tuple(value if convert is None else convert(value) for convert, value in zip(columns, row, strict=True))
            for row in found
        ]

    @staticmethod
    async def _sqlite_rows(driver: sqlite_driver.Connection, sql: str, values: tuple[Any, ...]) -> list[Any]:
        try:
            return (await driver.run(sql, values, many=False))[3]
        except sqlite3.Error as error:
            # As SQLAlchemy raises it (a unique key's race is caught as IntegrityError).
            raise DBAPIError.instance(sql, values, error, sqlite3.Error) from error

    async def _asyncpg_rows(
        self, connection: AsyncConnection, driver: Any, compiled: _Compiled, sql: str, values: tuple[Any, ...]
    ) -> Sequence[Sequence[Any]]:
        try:
            if "postgresql" not in self._columns:
                prepared = await driver.prepare(sql)
                self._columns["postgresql"] = self._converters(
                    compiled.compiled, connection.dialect, prepared.get_attributes()
                )
                found: Sequence[Sequence[Any]] = await prepared.fetch(*values)
            else:
                found = await driver.fetch(sql, *values)
        except Exception as error:
            lost = isinstance(error, asyncpg.PostgresConnectionError) or driver.is_closed()
            if isinstance(error, asyncpg.PostgresError) and not lost:
                with driver_errors(sql):  # the statement's own error (the connection goes on)
                    raise
            # The connection is lost or in a state no one knows: it leaves the pool, as SQLAlchemy's own path
            # takes such a connection out (the next request gets a new one instead of failing on it again).
            await connection.invalidate(error)
            raise DBAPIError(sql, None, error, connection_invalidated=True) from error
        return found

    @staticmethod
    def _converters(
        compiled: SQLCompiler, dialect: Dialect, attributes: Sequence[Any]
    ) -> tuple[Callable[[Any], Any] | None, ...]:
        converters = tuple(
            column[3].dialect_impl(dialect).result_processor(dialect, attribute.type.oid)
            for column, attribute in zip(compiled._result_columns, attributes, strict=True)
        )
        return converters if any(converters) else ()

    async def _through_sqlalchemy(
        self, session: AsyncSession, params: dict[str, Any] | None
    ) -> Sequence[Sequence[Any]]:
        result = await session.execute(self.statement, params)
        returns_rows = getattr(result, "returns_rows", True)  # a CursorResult: False for a write without RETURNING
        rows: Sequence[Sequence[Any]] = result.all() if returns_rows else []
        return rows

    @staticmethod
    def _runs_here(read_session: bool) -> bool:
        """Whether the driver takes the statement in this kind of session (a read: in both)."""
        return True

    async def first(self, session: AsyncSession, params: dict[str, Any] | None = None) -> Sequence[Any] | None:
        found = await self.rows(session, params)
        return found[0] if found else None

    async def scalar(self, session: AsyncSession, params: dict[str, Any] | None = None) -> Any:
        row = await self.first(session, params)
        return None if row is None else row[0]


async def connection_and_driver(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The session's connection and, under it, its asyncpg connection."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return connection, driver


@contextmanager
def driver_errors(sql: str) -> Any:
    """asyncpg's errors as SQLAlchemy raises them, for statements sent to the driver itself: callers catch
    those (a unique key's race is retried on IntegrityError)."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(sql, None, error) from error
    except asyncpg.PostgresError as error:
        raise DBAPIError(sql, None, error) from error


class FastWrite(FastRead):
    """An INSERT, UPDATE or DELETE built once, run the same way in a write (its rows, with RETURNING, by
    `rows`/`first`; none without). Never in a read session: there it goes through SQLAlchemy, whose listener
    refuses a write (db/engine.py `_refuse_writes`)."""

    __slots__ = ()

    def __init__(self, statement: UpdateBase) -> None:
        super().__init__(statement)

    @staticmethod
    def _runs_here(read_session: bool) -> bool:
        return not read_session


class Entities(Generic[E]):
    """ORM entities of one model made from a FastRead's row, for a caller that needs entities (the viewer, whom
    actions take as a Person; a vote's post, whose counts land on it): `columns` go in the statement's select,
    in this order. Made as a session would load them: `detached` as after the session closed (the viewer, read in
    a session of its own), `in_session` as one of the session's (the entity it holds already, if any, as a
    query would give it)."""

    __slots__ = ("_keys", "_manager", "columns")

    def __init__(self, model: type[E]) -> None:
        """`model`: a mapped class, or an alias of one (`aliased(Person)`) for a second entity of the same model in
        one statement; the entities are the model's either way."""
        mapper = inspect(model).mapper
        self._keys = tuple(prop.key for prop in mapper.column_attrs)
        self.columns: tuple[InstrumentedAttribute[Any], ...] = tuple(getattr(model, key) for key in self._keys)
        self._manager = mapper.class_manager

    def __len__(self) -> int:
        return len(self._keys)

    def detached(self, row: Sequence[Any], start: int = 0) -> E:
        """The entity of the values from `row[start]` on."""
        entity: E = self._manager.new_instance()
        values = instance_dict(entity)
        for index, key in enumerate(self._keys, start):
            values[key] = row[index]
        make_transient_to_detached(entity)
        return entity

    def in_session(self, session: AsyncSession, row: Sequence[Any], start: int = 0) -> E:
        entity = self.detached(row, start)
        key = instance_state(entity).key
        held: E | None = None if key is None else session.sync_session.identity_map.get(key)
        if held is not None:
            return held
        session.add(entity)
        return entity


class EntityRow:
    """A FastRead's row read from left to right: the entities of its columns, in turn (`Entities.columns` of each,
    in the select's order), then its other values."""

    __slots__ = ("_at", "_row", "_session")

    def __init__(self, session: AsyncSession, row: Sequence[Any]) -> None:
        self._session, self._row, self._at = session, row, 0

    def entity(self, kind: Entities[E]) -> E:
        """The next entity, one of the session's (`Entities.in_session`)."""
        found = kind.in_session(self._session, self._row, self._at)
        self._at += len(kind)
        return found

    def detached(self, kind: Entities[E]) -> E:
        found = kind.detached(self._row, self._at)
        self._at += len(kind)
        return found

    def entity_or_none(self, kind: Entities[E]) -> E | None:
        """The next entity, or None where an outer join found none (its first column, the key, is NULL)."""
        if self._row[self._at] is None:
            self._at += len(kind)
            return None
        return self.entity(kind)

    def value(self) -> Any:
        found = self._row[self._at]
        self._at += 1
        return found


_HELD = "held"  # the key, in a session's info, of the entities `hold` keeps


def hold(session: AsyncSession, *entities: object) -> None:
    """Keep entities in the session until its write commits (`release`). Its identity map holds unchanged
    entities weakly: once no name refers to one, a later `session.get` by its id (the Note a new comment sends,
    the inbox's announce of it) would read it again."""
    session.info.setdefault(_HELD, []).extend(entities)


def release(session: AsyncSession) -> None:
    """Let go of what `hold` kept: after the commit a `session.get` reads a row anew, where it would hand back a
    held copy whose expired columns cannot load by themselves (no implicit IO under asyncio)."""
    session.info.pop(_HELD, None)
