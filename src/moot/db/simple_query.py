"""Statements sent in PostgreSQL's simple query protocol (several statements, one round trip), which takes no
parameters: a statement is PREPAREd once per connection, by a name made from its text, and EXECUTEd with its
values written out (`_literal`): numbers, times, NULL, arrays of integers, and text. Text is never quoted by
escaping: it is written dollar-quoted (`$t_<random>$...$t_<random>$`), which PostgreSQL reads with no escape of
any kind, under a tag drawn at random for each value and checked not to occur in it (nor its beginning), so
nothing in the text can end the quote (and text with a NUL, which PostgreSQL cannot hold, is refused). Anything
else is refused. Used for the writes sent with a COMMIT (db/engine.py `commit`): a comment's counters, the
activities a change records (a private message's never: its text stays out of SQL text, which logs may show).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement as PostgreSQL keeps it for a connection: `PREPARE name AS ...` with $1, $2 ... in it."""

    name: str
    prepare: str
    compiled: SQLCompiler

    def execute(self, params: dict[str, Any]) -> str:
        """`EXECUTE name(...)`, the values in the order of the statement's placeholders."""
        bound = self.compiled.construct_params(params)
        values = ", ".join(_literal(bound[name]) for name in self.compiled.positiontup or ())
        return f"EXECUTE {self.name}({values})" if values else f"EXECUTE {self.name}"


@cache
def prepared(statement: Executable, dialect: Dialect) -> Prepared:
    """The statement compiled as the driver would prepare it (once per statement)."""
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    name = "moot_" + hashlib.sha256(compiled.string.encode()).hexdigest()[:16]
    return Prepared(name, f"PREPARE {name} AS {compiled.string}", compiled)


def _literal(value: object) -> str:
    """A value written into SQL: a number, a time, NULL, an array of integers, or text (dollar-quoted)."""
    if isinstance(value, str):
        return _dollar_quoted(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"'{value}'"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, (list, tuple)) and all(type(item) is int for item in value):
        return "'{" + ",".join(str(item) for item in value) + "}'"
    raise TypeError(
        f"only numbers, times, NULL, integer arrays and text are written into SQL, not {type(value).__name__}"
    )


def _dollar_quoted(text: str) -> str:
    """Text as a dollar-quoted constant: read as it is, whatever it holds, up to the one closing tag."""
    if "\x00" in text:
        raise ValueError("text with a NUL character cannot be stored")
    while True:
        tag = f"$t_{secrets.token_hex(8)}$"
        if tag[:-1] not in text:  # nor its beginning, which would end the quote with the text's last characters
            return f"{tag}{text}{tag}"
