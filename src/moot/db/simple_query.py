"""Statements sent in PostgreSQL's simple query protocol (several statements, one round trip), which takes no
parameters: a statement is PREPAREd once per connection, by a name made from its text, and EXECUTEd with its
values written out. Only numbers, times, NULL and arrays of integers are written out (`_literal`); anything else
is refused rather than quoted, so no text ever reaches SQL this way. Used for the counters sent with a COMMIT
(db/engine.py `commit`).
"""

from __future__ import annotations

import hashlib
import math
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
    """A value written into SQL: a number, a time, NULL or an array of integers, never text."""
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
    raise TypeError(f"only numbers, times, NULL and integer arrays are written into SQL, not {type(value).__name__}")
