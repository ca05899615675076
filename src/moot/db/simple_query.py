"""Statements written out whole, for PostgreSQL's simple query protocol (several statements, one round trip).

A simple query takes no parameters: the values are written into the statement. Only numbers, times, NULL and
arrays of integers are accepted (`_literal`); anything else is refused rather than quoted, so no text ever
reaches SQL this way. Used for the counters sent with a COMMIT (db/engine.py `send_counts`).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

_PLACEHOLDER = re.compile(r"\$(\d+)")


def written_out(statement: Executable, params: dict[str, Any], dialect: Dialect) -> str:
    """The statement as the driver would prepare it (compiled once), its placeholders $1, $2 ... replaced by
    their values."""
    compiled = _compiled(statement, dialect)
    bound = compiled.construct_params(params)
    values = [bound[name] for name in compiled.positiontup or ()]
    return _PLACEHOLDER.sub(lambda found: _literal(values[int(found[1]) - 1]), compiled.string)


@cache
def _compiled(statement: Executable, dialect: Dialect) -> SQLCompiler:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


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
