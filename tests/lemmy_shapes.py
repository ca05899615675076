"""Exact shape checker for Lemmy 0.19 API v3 JSON, driven by the lemmy-js-client type list."""

from __future__ import annotations

import ast
import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "TIMESTAMP_FIELDS",
    "TIMESTAMP_RE",
    "TYPES_FILENAME",
    "ArrayOf",
    "Field",
    "Lit",
    "ObjectOf",
    "Prim",
    "Ref",
    "TupleOf",
    "TypeExpr",
    "TypesFileError",
    "UnionOf",
    "assert_shape",
    "definitions",
    "known_types",
    "parse_types",
    "referenced_names",
    "shape_errors",
    "types_file",
]

TYPES_FILENAME: Final = "lemmy-v3-types.txt"

# Fields whose string values Lemmy serialises from chrono::DateTime<Utc>. The first six are the
# ones the API design names; the rest are the other DateTime<Utc> fields present in the 0.19 types.
TIMESTAMP_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "published",
        "updated",
        "when_",
        "expires",
        "ban_expires",
        "newest_comment_time",
        "last_refreshed_at",
        "last_successful_published_time",
        "last_retry",
        "next_retry",
        "last_donation_notification",
    }
)

# RFC 3339, UTC, with a literal "Z": 2021-03-01T13:42:43.966208Z. Used with fullmatch(), ASCII digits.
TIMESTAMP_RE: Final[re.Pattern[str]] = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$", re.ASCII)

_MAX_REPORTED_ERRORS: Final = 25
_MAX_LISTED_LITERALS: Final = 25


# --------------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Prim:
    """A TypeScript primitive: string, number, boolean or null."""

    name: Literal["string", "number", "boolean", "null"]


@dataclass(frozen=True)
class Lit:
    """A string literal type such as "Hot"."""

    value: str


@dataclass(frozen=True)
class Ref:
    """A reference to a named type (interface, alias or enum) defined in the types file."""

    name: str


@dataclass(frozen=True)
class ArrayOf:
    """Array<T> or T[]."""

    item: TypeExpr


@dataclass(frozen=True)
class TupleOf:
    """A fixed-length tuple [A, B, ...]."""

    items: tuple[TypeExpr, ...]


@dataclass(frozen=True)
class Field:
    """One member of an object type; optional means it was declared with `?`."""

    name: str
    expr: TypeExpr
    optional: bool


@dataclass(frozen=True)
class ObjectOf:
    """An object type: a named interface body or an inline `{ ... }` literal."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class UnionOf:
    """A union A | B | ...; nested unions are flattened at parse time."""

    options: tuple[TypeExpr, ...]


TypeExpr = Prim | Lit | Ref | ArrayOf | TupleOf | ObjectOf | UnionOf


# -------------------------------------------------------------------------------------------- parser


class TypesFileError(ValueError):
    """The types file holds a line the parser cannot represent."""


_PRIMS: Final[Mapping[str, Prim]] = MappingProxyType(
    {"string": Prim("string"), "number": Prim("number"), "boolean": Prim("boolean"), "null": Prim("null")}
)
_UNSUPPORTED_NAMES: Final[frozenset[str]] = frozenset(
    {"any", "unknown", "undefined", "never", "object", "void", "true", "false", "bigint", "symbol"}
)

_TOKEN_RE: Final = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<punct>[{}()\[\]<>;:?|=,&])
    )""",
    re.VERBOSE,
)

_TS_PREFIX_RE: Final = re.compile(r"^(?:export\s+)?(?:declare\s+)?(?:type|interface)\s+(?=[A-Za-z_$])")

_TokenKind = Literal["str", "name", "num", "punct"]


@dataclass(frozen=True)
class _Token:
    kind: _TokenKind
    text: str
    col: int


def _tokenize(line: str, where: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        while pos < len(line) and line[pos].isspace():
            pos += 1
        if pos >= len(line):
            return tokens
        m = _TOKEN_RE.match(line, pos)
        if m is None or m.lastgroup is None:
            raise TypesFileError(f"{where}: cannot tokenize at column {pos + 1}: {line[pos : pos + 30]!r}")
        kind: _TokenKind
        if m.lastgroup == "str":
            kind = "str"
        elif m.lastgroup == "name":
            kind = "name"
        elif m.lastgroup == "num":
            kind = "num"
        else:
            kind = "punct"
        tokens.append(_Token(kind, m.group(m.lastgroup), m.start(m.lastgroup) + 1))
        pos = m.end()


class _Parser:
    def __init__(self, tokens: list[_Token], where: str) -> None:
        self._tokens = tokens
        self._i = 0
        self._where = where

    def _fail(self, message: str, tok: _Token | None = None) -> TypesFileError:
        if tok is None:
            tok = self._peek()
        at = f"column {tok.col} ({tok.text!r})" if tok is not None else "end of line"
        return TypesFileError(f"{self._where}: {message} at {at}")

    def _peek(self, ahead: int = 0) -> _Token | None:
        j = self._i + ahead
        return self._tokens[j] if j < len(self._tokens) else None

    def _next(self) -> _Token:
        tok = self._peek()
        if tok is None:
            raise self._fail("unexpected end of line")
        self._i += 1
        return tok

    def _at(self, text: str, ahead: int = 0) -> bool:
        tok = self._peek(ahead)
        return tok is not None and tok.kind == "punct" and tok.text == text

    def _accept(self, text: str) -> bool:
        if self._at(text):
            self._i += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._accept(text):
            raise self._fail(f"expected {text!r}")

    def declaration(self) -> tuple[str, TypeExpr]:
        tok = self._next()
        if tok.kind != "name":
            raise self._fail("expected a type name", tok)
        name = tok.text
        expr: TypeExpr
        if self._accept("="):
            expr = self.type_expr()
        elif self._at("{"):
            expr = self.object_body()
        elif self._at("<"):
            raise self._fail("generic type declarations are not supported")
        else:
            raise self._fail("expected '=' or '{' after the type name")
        self._accept(";")
        if self._peek() is not None:
            raise self._fail("unexpected trailing tokens")
        return name, expr

    def type_expr(self) -> TypeExpr:
        self._accept("|")  # TS allows a leading pipe: `X = | "A" | "B"`
        options: list[TypeExpr] = [self._postfix()]
        while self._accept("|"):
            options.append(self._postfix())
        if self._at("&"):
            raise self._fail("intersection types are not supported")
        flat: list[TypeExpr] = []
        for opt in options:
            for o in opt.options if isinstance(opt, UnionOf) else (opt,):
                if o not in flat:
                    flat.append(o)
        return flat[0] if len(flat) == 1 else UnionOf(tuple(flat))

    def _postfix(self) -> TypeExpr:
        expr = self._primary()
        while self._at("[") and self._at("]", 1):
            self._i += 2
            expr = ArrayOf(expr)
        return expr

    def _primary(self) -> TypeExpr:
        tok = self._next()
        if tok.kind == "str":
            value = ast.literal_eval(tok.text)
            if not isinstance(value, str):  # pragma: no cover - the regex only admits quoted strings
                raise self._fail("bad string literal", tok)
            return Lit(value)
        if tok.kind == "num":
            raise self._fail("numeric literal types are not supported", tok)
        if tok.kind == "punct":
            if tok.text == "{":
                self._i -= 1
                return self.object_body()
            if tok.text == "(":
                inner = self.type_expr()
                self._expect(")")
                return inner
            if tok.text == "[":
                items: list[TypeExpr] = []
                while not self._accept("]"):
                    items.append(self.type_expr())
                    if not self._accept(","):
                        self._expect("]")
                        break
                return TupleOf(tuple(items))
            raise self._fail("expected a type", tok)
        name = tok.text
        if name in _PRIMS:
            return _PRIMS[name]
        if name in _UNSUPPORTED_NAMES:
            raise self._fail(f"type {name!r} is not supported", tok)
        if name == "Array":
            self._expect("<")
            item = self.type_expr()
            self._expect(">")
            return ArrayOf(item)
        if self._at("<"):
            raise self._fail(f"generic type {name}<...> is not supported", tok)
        return Ref(name)

    def object_body(self) -> ObjectOf:
        self._expect("{")
        fields: list[Field] = []
        seen: set[str] = set()
        while not self._accept("}"):
            tok = self._next()
            if tok.kind == "name":
                fname = tok.text
            elif tok.kind == "str":
                fname = str(ast.literal_eval(tok.text))
            else:
                raise self._fail("expected a field name", tok)
            if fname in seen:
                raise self._fail(f"duplicate field {fname!r}", tok)
            seen.add(fname)
            optional = self._accept("?")
            if self._at("("):
                raise self._fail("method signatures are not supported")
            if self._at("["):
                raise self._fail("index signatures are not supported")
            self._expect(":")
            fields.append(Field(fname, self.type_expr(), optional))
            if not (self._accept(";") or self._accept(",")) and not self._at("}"):
                raise self._fail("expected ';', ',' or '}' after a field")
        return ObjectOf(tuple(fields))


def parse_types(text: str, source: str = "<types>") -> dict[str, TypeExpr]:
    """Parse a types listing (one declaration per line) into {type name: type expression}."""
    defs: dict[str, TypeExpr] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        where = f"{source}:{lineno}"
        line = _TS_PREFIX_RE.sub("", line)  # tolerate `export type X = ...` / `export interface X {...}`
        name, expr = _Parser(_tokenize(line, where), where).declaration()
        if name in defs:
            raise TypesFileError(f"{where}: type {name!r} is declared twice")
        defs[name] = expr
    return defs


def types_file() -> Path:
    """The types file in use: tests/lemmy-v3-types.txt if present, else the shared design copy."""
    here = Path(__file__).resolve()
    local = here.parent / TYPES_FILENAME
    if local.is_file():
        return local
    shared = here.parents[1] / ".." / "shared" / "design" / TYPES_FILENAME
    if shared.is_file():
        return shared
    raise FileNotFoundError(f"{TYPES_FILENAME} not found at {local} or {shared}")


@functools.cache
def definitions() -> Mapping[str, TypeExpr]:
    """All parsed type definitions (read-only, parsed once per process)."""
    path = types_file()
    return MappingProxyType(parse_types(path.read_text(encoding="utf-8"), source=str(path)))


def known_types() -> set[str]:
    """Names of every type declared in the types file."""
    return set(definitions())


def _walk_refs(expr: TypeExpr, out: set[str]) -> None:
    if isinstance(expr, Ref):
        out.add(expr.name)
    elif isinstance(expr, ArrayOf):
        _walk_refs(expr.item, out)
    elif isinstance(expr, TupleOf | UnionOf):
        for sub in expr.items if isinstance(expr, TupleOf) else expr.options:
            _walk_refs(sub, out)
    elif isinstance(expr, ObjectOf):
        for f in expr.fields:
            _walk_refs(f.expr, out)


def referenced_names() -> set[str]:
    """Every type name referenced anywhere in the definitions (should be a subset of known_types())."""
    out: set[str] = set()
    for expr in definitions().values():
        _walk_refs(expr, out)
    return out


# ----------------------------------------------------------------------------------------- validator


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _prim_ok(value: object, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    return value is None


def _fmt_literals(values: Iterable[str]) -> str:
    vals = list(values)
    if len(vals) > _MAX_LISTED_LITERALS:
        head = " | ".join(json.dumps(v) for v in vals[:8])
        return f"one of {len(vals)} literals ({head} | ...)"
    return "one of " + " | ".join(json.dumps(v) for v in vals)


def _enum_error(path: str, values: list[str], got: object) -> str:
    msg = f"{path}: expected {_fmt_literals(values)}, got {got!r}"
    if isinstance(got, str):
        close = difflib.get_close_matches(got, values, n=1) or [v for v in values if v.lower() == got.lower()]
        if close:
            msg += f" (did you mean {json.dumps(close[0])}?)"
    return msg


# A union member after resolving references and flattening: (expression, name of the ref it came from).
_Option = tuple[Prim | Lit | ArrayOf | TupleOf | ObjectOf, str | None]


class _Checker:
    def __init__(self, defs: Mapping[str, TypeExpr]) -> None:
        self._defs = defs

    def _resolve(self, name: str) -> TypeExpr:
        try:
            return self._defs[name]
        except KeyError:
            raise LookupError(f"type {name!r} is referenced but not defined in {TYPES_FILENAME}") from None

    def describe(self, expr: TypeExpr) -> str:
        if isinstance(expr, Prim):
            return expr.name
        if isinstance(expr, Lit):
            return json.dumps(expr.value)
        if isinstance(expr, Ref):
            target = self._resolve(expr.name)
            return f"{target.name} ({expr.name})" if isinstance(target, Prim) else expr.name
        if isinstance(expr, ArrayOf):
            return f"Array<{self.describe(expr.item)}>"
        if isinstance(expr, TupleOf):
            return "[" + ", ".join(self.describe(i) for i in expr.items) + "]"
        if isinstance(expr, ObjectOf):
            return "object"
        return " | ".join(self.describe(o) for o in expr.options)

    def accepts_null(self, expr: TypeExpr) -> bool:
        if isinstance(expr, Prim):
            return expr.name == "null"
        if isinstance(expr, Ref):
            return self.accepts_null(self._resolve(expr.name))
        if isinstance(expr, UnionOf):
            return any(self.accepts_null(o) for o in expr.options)
        return False

    def _flatten(self, expr: TypeExpr, label: str | None, out: list[_Option]) -> None:
        if isinstance(expr, Ref):
            self._flatten(self._resolve(expr.name), expr.name, out)
        elif isinstance(expr, UnionOf):
            for o in expr.options:
                self._flatten(o, label, out)
        else:
            out.append((expr, label))

    def check(self, value: object, expr: TypeExpr, path: str, label: str | None = None) -> list[str]:
        if isinstance(expr, Ref):
            return self.check(value, self._resolve(expr.name), path, expr.name)
        if isinstance(expr, Prim):
            if _prim_ok(value, expr.name):
                return []
            want = f"{expr.name} ({label})" if label else expr.name
            return [f"{path}: expected {want}, got {_kind(value)}"]
        if isinstance(expr, Lit):
            return [] if value == expr.value and isinstance(value, str) else [_enum_error(path, [expr.value], value)]
        if isinstance(expr, ArrayOf):
            if not isinstance(value, list):
                return [f"{path}: expected {label or self.describe(expr)}, got {_kind(value)}"]
            errors: list[str] = []
            for i, item in enumerate(value):
                errors.extend(self.check(item, expr.item, f"{path}[{i}]"))
            return errors
        if isinstance(expr, TupleOf):
            if not isinstance(value, list):
                return [f"{path}: expected {label or self.describe(expr)}, got {_kind(value)}"]
            if len(value) != len(expr.items):
                return [f"{path}: expected a {len(expr.items)}-element tuple, got {len(value)} elements"]
            errors = []
            for i, (item, item_expr) in enumerate(zip(value, expr.items, strict=True)):
                errors.extend(self.check(item, item_expr, f"{path}[{i}]"))
            return errors
        if isinstance(expr, ObjectOf):
            return self._check_object(value, expr, path, label)
        return self._check_union(value, expr, path, label)

    def _check_object(self, value: object, obj: ObjectOf, path: str, label: str | None) -> list[str]:
        what = f"{label} object" if label else "object"
        if not isinstance(value, dict):
            return [f"{path}: expected {what}, got {_kind(value)}"]
        errors: list[str] = []
        for f in obj.fields:
            sub = f"{path}.{f.name}"
            if f.name not in value:
                if not f.optional:
                    errors.append(f"{sub}: required field missing")
                continue
            v = value[f.name]
            if v is None and not self.accepts_null(f.expr):
                hint = " (Lemmy omits None fields: an optional field must be absent, never null)"
                errors.append(f"{sub}: expected {self.describe(f.expr)}, got null{hint if f.optional else ''}")
                continue
            field_errors = self.check(v, f.expr, sub)
            errors.extend(field_errors)
            if not field_errors and isinstance(v, str) and f.name in TIMESTAMP_FIELDS and not TIMESTAMP_RE.fullmatch(v):
                errors.append(
                    f"{sub}: expected Lemmy timestamp (RFC 3339 UTC ending in 'Z', "
                    f"e.g. 2021-03-01T13:42:43.966208Z), got {v!r}"
                )
        declared = {f.name for f in obj.fields}
        for key in value:
            if key not in declared:
                errors.append(f"{path}.{key}: unexpected key (not declared in {label or 'this object type'})")
        return errors

    def _check_union(self, value: object, union: UnionOf, path: str, label: str | None) -> list[str]:
        options: list[_Option] = []
        self._flatten(union, label, options)

        def kind_matches(opt: Prim | Lit | ArrayOf | TupleOf | ObjectOf) -> bool:
            if isinstance(opt, Prim):
                return _prim_ok(value, opt.name)
            if isinstance(opt, Lit):
                return isinstance(value, str)
            if isinstance(opt, ArrayOf | TupleOf):
                return isinstance(value, list)
            return isinstance(value, dict)

        literals = [o.value for o, _ in options if isinstance(o, Lit)]
        candidates = [(o, lab) for o, lab in options if kind_matches(o)]
        if not candidates:
            if len(literals) == len(options):
                return [_enum_error(path, literals, value)]
            return [f"{path}: expected {label or self.describe(union)}, got {_kind(value)}"]

        results: list[tuple[Prim | Lit | ArrayOf | TupleOf | ObjectOf, str | None, list[str]]] = []
        for o, lab in candidates:
            errs = self.check(value, o, path, lab)
            if not errs:
                return []
            results.append((o, lab, errs))

        if all(isinstance(o, Lit) for o, _, _ in results):
            return [_enum_error(path, literals, value)]
        if len(results) == 1:
            return results[0][2]

        objects = [(o, lab, errs) for o, lab, errs in results if isinstance(o, ObjectOf)]
        if isinstance(value, dict) and len(objects) == len(results):
            # Discriminated union of objects: keep members whose literal-typed fields agree with the value.
            def discriminants_agree(obj: ObjectOf) -> bool:
                for f in obj.fields:
                    if isinstance(f.expr, Lit):
                        if f.name in value:
                            if value[f.name] != f.expr.value:
                                return False
                        elif not f.optional:
                            return False
                return True

            agreeing = [r for r in objects if isinstance(r[0], ObjectOf) and discriminants_agree(r[0])]
            if agreeing:
                return min(agreeing, key=lambda r: len(r[2]))[2]
            tags: set[str] | None = None
            for o, _, _ in objects:
                assert isinstance(o, ObjectOf)
                names = {f.name for f in o.fields if isinstance(f.expr, Lit)}
                tags = names if tags is None else tags & names
            for tag in sorted(tags or ()):
                allowed: list[str] = []
                for o, _, _ in objects:
                    assert isinstance(o, ObjectOf)
                    allowed.extend(f.expr.value for f in o.fields if f.name == tag and isinstance(f.expr, Lit))
                if tag not in value:
                    return [f"{path}.{tag}: required field missing (discriminant of {label or 'union'})"]
                return [_enum_error(f"{path}.{tag}", allowed, value[tag])]

        closest_expr, closest_label, closest = min(results, key=lambda r: len(r[2]))
        head = f"{path}: matches no member of {label or self.describe(union)}"
        return [
            f"{head}; closest member {closest_label or self.describe(closest_expr)} fails with:",
            *closest,
        ]


def shape_errors(value: object, type_name: str) -> list[str]:
    """Every mismatch between value (decoded JSON) and the named Lemmy type, as 'path: problem' lines."""
    defs = definitions()
    if type_name not in defs:
        close = difflib.get_close_matches(type_name, list(defs), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown Lemmy type {type_name!r}{hint}")
    return _Checker(defs).check(value, Ref(type_name), type_name)


def assert_shape(value: object, type_name: str) -> None:
    """Raise AssertionError naming the exact path of each way value deviates from the Lemmy type."""
    errors = shape_errors(value, type_name)
    if not errors:
        return
    if len(errors) == 1:
        raise AssertionError(errors[0])
    shown = errors[:_MAX_REPORTED_ERRORS]
    more = len(errors) - len(shown)
    lines = [f"{len(errors)} shape errors in {type_name}:", *(f"  {e}" for e in shown)]
    if more:
        lines.append(f"  ... and {more} more")
    raise AssertionError("\n".join(lines))
