"""Writes src/moot/api/openapi_types.json: lemmy-js-client 0.19's types as JSON Schema, for the OpenAPI document.

The types come from tests/lemmy-v3-types.txt, parsed by tests/lemmy_shapes.py (the checker the suite already
trusts), and are translated once, here, so that serving /openapi.json costs no parsing. Run

    .venv/bin/python tests/gen_openapi_types.py

after the types file changes; tests/test_openapi.py fails while the committed file differs from what this writes.

The translation keeps lemmy_shapes.py's rules: an optional field (`?`) may be absent but never null (Lemmy leaves
None fields out), no undeclared keys, timestamps in Lemmy's RFC 3339 UTC form. Every `number` of the v3 types is
an integer on the wire (ids, counts, scores, limits, unix seconds), so it is published as `integer`. Aliases of
primitives (`PostId = number`) are written inline; enums and objects become named schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lemmy_shapes import (
    TIMESTAMP_FIELDS,
    TIMESTAMP_RE,
    ArrayOf,
    Lit,
    ObjectOf,
    Prim,
    Ref,
    TupleOf,
    TypeExpr,
    definitions,
    types_file,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "moot" / "api" / "openapi_types.json"
REF_PREFIX = "#/components/schemas/"
_PRIM_TYPES = {"string": "string", "number": "integer", "boolean": "boolean", "null": "null"}
# JSON Schema's (ECMA 262) regex dialect has no inline flags; \d is ASCII there, as re.ASCII makes it here.
TIMESTAMP_PATTERN = TIMESTAMP_RE.pattern


def _is_alias_of_primitive(name: str, defs: dict[str, TypeExpr]) -> bool:
    return isinstance(defs[name], Prim)


def _schema(expr: TypeExpr, defs: dict[str, TypeExpr], field: str | None = None) -> dict[str, Any]:
    if isinstance(expr, Prim):
        schema: dict[str, Any] = {"type": _PRIM_TYPES[expr.name]}
        if expr.name == "string" and field in TIMESTAMP_FIELDS:
            schema.update(format="date-time", pattern=TIMESTAMP_PATTERN)
        return schema
    if isinstance(expr, Lit):
        return {"type": "string", "const": expr.value}
    if isinstance(expr, Ref):
        target = defs[expr.name]
        if isinstance(target, Prim):
            return _schema(target, defs, field)
        return {"$ref": REF_PREFIX + expr.name}
    if isinstance(expr, ArrayOf):
        return {"type": "array", "items": _schema(expr.item, defs)}
    if isinstance(expr, TupleOf):
        n = len(expr.items)
        return {"type": "array", "prefixItems": [_schema(i, defs) for i in expr.items], "minItems": n, "maxItems": n}
    if isinstance(expr, ObjectOf):
        return {
            "type": "object",
            "properties": {f.name: _schema(f.expr, defs, f.name) for f in expr.fields},
            "required": [f.name for f in expr.fields if not f.optional],
            "additionalProperties": False,
        }
    if all(isinstance(o, Lit) for o in expr.options):
        return {"type": "string", "enum": [o.value for o in expr.options if isinstance(o, Lit)]}
    return {"anyOf": [_schema(o, defs, field) for o in expr.options]}


def build() -> dict[str, Any]:
    """{type name: JSON Schema} for every declared type except aliases of primitives (those are inlined)."""
    defs = dict(definitions())
    schemas: dict[str, Any] = {}
    for name in sorted(defs):
        if _is_alias_of_primitive(name, defs):
            continue
        schema = _schema(defs[name], defs)
        schema["title"] = name
        schemas[name] = schema
    return {
        "source": f"tests/{types_file().name} (lemmy-js-client 0.19), by tests/gen_openapi_types.py",
        "schemas": schemas,
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
