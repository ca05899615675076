"""The OpenAPI document of the v3 API at /openapi.json: forms as FastAPI reads them, answers as Lemmy's types.

FastAPI's own document knows only what handlers are annotated with: Moot's handlers return plain dicts built by
`api/lemmy_v3/convert.py`, so it listed every answer as an empty schema, and added a 422 that Moot never sends
(`api/errors.py` turns a form that does not parse into 400). Here:

- each route names what it answers with `**v3("getPosts", "GetPostsResponse", ...)` in its decorator: the
  operation id (lemmy-js-client's method name), the lemmy-js-client 0.19 type of its 200 answer, and which of
  401 / 404 it can send;
- the types themselves are JSON Schema generated once from tests/lemmy-v3-types.txt (`openapi_types.json`, by
  tests/gen_openapi_types.py), and only those the answers reach are published;
- every operation lists 400 (a form that does not parse, a rule that refuses it, `rate_limit_error` with
  `Retry-After`), every POST and PUT 413 (http/limits.py), all in Lemmy's `{"error", "message"?}` shape;
- the document is built once, on its first request, and no answer is ever validated against it at run time:
  tests/test_openapi_fuzz.py has schemathesis check that the server keeps to it.

Only /api/v3 is described: ActivityPub, WebFinger and NodeInfo follow their own specifications."""

from __future__ import annotations

import copy
import functools
import inspect
import json
from collections.abc import Iterator, Sequence
from importlib.resources import files
from typing import Annotated, Any, Final, TypedDict

from fastapi import FastAPI, Query
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute

from moot.api.lemmy_v3.context import QUERY_FORM

API_PREFIX: Final = "/api/v3"
REF: Final = "#/components/schemas/"
ERROR: Final = "LemmyError"
# FastAPI's schemas for the 422 it documents by default; Moot answers 400 instead.
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_WITH_BODY = ("post", "put", "patch")

DESCRIPTION: Final = """\
Lemmy's HTTP API v3 as Moot serves it: the forms lemmy-js-client 0.19 sends, the types it reads back.

Log in with `POST /api/v3/user/login` and send the `jwt` it returns as `Authorization: Bearer <jwt>` (or as the
`jwt` cookie). An unknown or expired token is not an error: the request is anonymous. Every failure is
`{"error": "<snake_case type>"}`, or `{"error": ..., "message": ...}` for the types that carry text, with 400
unless the operation lists another status. Optional fields of an answer are left out, never `null`."""


class OperationDoc(TypedDict):
    """Keyword arguments for a route decorator (`@router.get(path, **v3(...))`)."""

    operation_id: str
    responses: dict[int | str, dict[str, Any]]
    openapi_extra: dict[str, Any]


def _json_answer(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF + schema}}}}


_LOGINS: Final[list[dict[str, list[str]]]] = [{"bearer": []}, {"cookie": []}]

_TEXT_OR_NULL: Final = {"type": ["string", "null"]}
_IDS: Final = {"type": "array", "items": {"type": "string"}}
# Answers lemmy-js-client leaves as `any`: exportSettings answers Lemmy 0.19's UserSettingsBackup
# (crates/apub/src/api/user_settings_backup.rs), described here.
_UNTYPED: Final[dict[str, Any]] = {
    "UserSettingsBackup": {
        "title": "UserSettingsBackup",
        "type": "object",
        "description": "A settings backup (GET /user/export_settings), read back by POST /user/import_settings",
        "properties": {
            "display_name": _TEXT_OR_NULL,
            "bio": _TEXT_OR_NULL,
            "avatar": _TEXT_OR_NULL,
            "banner": _TEXT_OR_NULL,
            "matrix_id": _TEXT_OR_NULL,
            "bot_account": {"type": ["boolean", "null"]},
            "settings": {"$ref": REF + "LocalUser"},
            "vote_display_mode_settings": {"$ref": REF + "LocalUserVoteDisplayMode"},
            **{
                name: _IDS
                for name in (
                    "followed_communities",
                    "saved_posts",
                    "saved_comments",
                    "blocked_communities",
                    "blocked_users",
                    "blocked_instances",
                )
            },
        },
    }
}


def v3(
    operation_id: str,
    returns: str,
    *,
    login: bool = False,
    incorrect_login: bool = False,
    not_found: bool = False,
) -> OperationDoc:
    """What a v3 route answers: `returns` (a lemmy-js-client type) with 200; with `login`, 401 `not_logged_in`
    for a request without a valid login; with `incorrect_login`, 401 for a wrong password; with `not_found`,
    404 `couldnt_find_*` when what the form names does not exist (or is not visible to the viewer)."""
    responses: dict[int | str, dict[str, Any]] = {200: _json_answer(returns, f"`{returns}`")}
    unauthorized = [
        text
        for wanted, text in (
            (login, "`not_logged_in`: the request carries no valid login"),
            (incorrect_login, "`incorrect_login`: the name, email or password is wrong"),
        )
        if wanted
    ]
    if unauthorized:
        responses[401] = _json_answer(ERROR, "; ".join(unauthorized))
    if not_found:
        responses[404] = _json_answer(ERROR, "`couldnt_find_*`: what the form names does not exist here")
    return {
        "operation_id": operation_id,
        "responses": responses,
        # Without a login the operation is refused, or answers what an anonymous visitor sees.
        "openapi_extra": {"security": _LOGINS if login else [{}, *_LOGINS]},
    }


_BAD_REQUEST: Final = {
    "description": (
        "A form that does not parse (`unknown`, with the field and the reason as `message`), a rule that refuses "
        "it (`invalid_post_title`, `not_a_moderator`, ...), or the rate limit (`rate_limit_error`, with "
        "`Retry-After`)"
    ),
    "headers": {
        "Retry-After": {
            "description": "With `rate_limit_error`: seconds until the bucket holds a token again",
            "schema": {"type": "integer"},
        }
    },
    "content": {"application/json": {"schema": {"$ref": REF + ERROR}}},
}
_TOO_LARGE: Final = _json_answer(ERROR, "The body is over 1 MiB (`unknown`, `request body too large`)")

_ERROR_SCHEMA: Final = {
    "title": ERROR,
    "description": "Lemmy's error: `error` is a LemmyErrorType (lemmy-js-client), `message` its text when it has one",
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error"],
    "additionalProperties": False,
}
_SECURITY_SCHEMES: Final = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The `jwt` of a login"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "jwt", "description": "The same JWT as a cookie"},
}


@functools.cache
def lemmy_types() -> dict[str, Any]:
    """lemmy-js-client 0.19's types as JSON Schema, by name (generated: tests/gen_openapi_types.py)."""
    text = files("moot.api").joinpath("openapi_types.json").read_text(encoding="utf-8")
    schemas: dict[str, Any] = json.loads(text)["schemas"]
    return schemas


def _refs(node: object, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            out.add(ref.removeprefix(REF))
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _same_enum(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return "enum" in ours and "enum" in theirs and set(ours["enum"]) == set(theirs["enum"])


def _closure(roots: set[str], pool: dict[str, Any], what: str) -> dict[str, Any]:
    """The schemas named in `roots` and every schema they refer to, all from `pool`."""
    found: dict[str, Any] = {}
    wanted = set(roots)
    while pending := wanted - found.keys():
        name = pending.pop()
        if name not in pool:
            raise ValueError(f"the OpenAPI document refers to {name}, which is not {what}")
        found[name] = pool[name]
        _refs(pool[name], wanted)
    return found


def _reachable_schemas(doc: dict[str, Any], forms: dict[str, Any]) -> dict[str, Any]:
    """The schemas the operations refer to, and those they refer to: for requests the forms' (FastAPI's, from
    the pydantic models), for answers Lemmy's types. Nothing unreachable is published."""
    asked: set[str] = set()
    answered: set[str] = set()
    for operations in doc["paths"].values():
        for operation in operations.values():
            _refs({k: v for k, v in operation.items() if k != "responses"}, asked)
            _refs(operation["responses"], answered)
    requests = _closure(asked, forms, "a form")
    answers = _closure(answered, {**lemmy_types(), ERROR: _ERROR_SCHEMA, **_UNTYPED}, "a lemmy-js-client type")
    for name in requests.keys() & answers.keys():
        # An enum (SortType, ...) that both a form and an answer use: one schema, so it must be the same enum.
        if not _same_enum(requests[name], answers[name]):
            raise ValueError(f"the form schema {name} differs from lemmy-js-client's type of that name")
    return dict(sorted({**answers, **requests}.items()))


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is present or absent, never null: `anyOf: [T, null]` is T."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) != 1:
        return schema
    extra = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**rest[0], **extra}


def _finish_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    answer = responses.get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" not in answer and "$ref" not in answer.get("items", {}):
        raise ValueError(f"{method.upper()} {path} names no answer type: add **v3(...) to its decorator")
    responses.setdefault("400", _BAD_REQUEST)
    if method in _WITH_BODY:
        responses.setdefault("413", _TOO_LARGE)
    operation["responses"] = dict(sorted(responses.items()))
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and "schema" in parameter:
            parameter["schema"] = _not_null(parameter["schema"])
    area = path.removeprefix(API_PREFIX).strip("/").split("/")[0]
    operation["tags"] = [area]


# Moot's additive fields, present only when a request asks for them (docs/api.md): a Lemmy client never sees them.
_LINK_GROUP: Final = {
    "type": "object",
    "description": "With `link_group=true`: the post's group of the same link (README, 'One discussion per link')",
    "properties": {
        "url_match": {"type": ["string", "null"]},
        "post_ids": {"type": "array", "items": {"type": "integer"}},
        "posts": {"type": "integer"},
        "communities": {"type": "integer"},
        "comments": {"type": "integer"},
    },
    "required": ["url_match", "post_ids", "posts", "communities", "comments"],
    "additionalProperties": False,
}


def _with_extensions(schemas: dict[str, Any]) -> dict[str, Any]:
    """Lemmy's answer types, with Moot's optional additive fields (new dicts: the cached types stay Lemmy's)."""
    post = schemas.get("GetPostResponse")
    if post is not None:
        schemas["GetPostResponse"] = {**post, "properties": {**post["properties"], "link_group": _LINK_GROUP}}
    return schemas


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute of the app (all its own: http/routes.py adds them so)."""
    return (route for route in routes if isinstance(route, APIRoute))


def query_forms(routes: Sequence[BaseRoute]) -> dict[str, type[BaseModel]]:
    """Operation id -> the form its handler reads with `query_form(Model)` (api/lemmy_v3/context.py)."""
    found: dict[str, type[BaseModel]] = {}
    for route in api_routes(routes):
        for dependency in route.dependant.dependencies:
            model = getattr(dependency.call, QUERY_FORM, None)
            if model is not None and route.operation_id is not None:
                found[route.operation_id] = model
    return found


def _declared_query(model: type[BaseModel]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The query parameters and schemas FastAPI documents for `form: Annotated[model, Query()]`: a query_form
    route reads its query string itself, so FastAPI sees no parameters on it; a route declared that way, in an
    app of its own, is described instead."""

    async def declared() -> None:
        """Never called: its signature describes the form."""

    form = inspect.Parameter("form", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[model, Query()])
    declared.__signature__ = inspect.Signature([form])  # type: ignore[attr-defined]
    app = FastAPI()
    app.get("/")(declared)
    doc = get_openapi(title="", version="", routes=app.routes)
    parameters: list[dict[str, Any]] = doc["paths"]["/"]["get"]["parameters"]
    return parameters, doc.get("components", {}).get("schemas", {})


def _with_query_forms(doc: dict[str, Any], forms: dict[str, type[BaseModel]]) -> None:
    """The query_form routes' parameters (and the schemas they refer to) put into FastAPI's document."""
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for operations in doc["paths"].values():
        for operation in operations.values():
            model = forms.get(operation.get("operationId", ""))
            if model is not None:
                parameters, used = _declared_query(model)
                operation["parameters"] = [*operation.get("parameters", []), *parameters]
                schemas.update(used)


def build_document(app: FastAPI) -> dict[str, Any]:
    """The v3 API's OpenAPI document (see the module docstring)."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary="Lemmy's HTTP API v3, as Moot serves it",
        description=DESCRIPTION,
        routes=app.routes,
    )
    _with_query_forms(doc, query_forms(app.routes))
    doc["paths"] = {path: ops for path, ops in doc["paths"].items() if path.startswith(API_PREFIX + "/")}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            _finish_operation(path, method, operation)
    components: dict[str, Any] = doc.setdefault("components", {})
    forms = {name: s for name, s in components.get("schemas", {}).items() if name not in _FASTAPI_VALIDATION}
    components["schemas"] = _with_extensions(_reachable_schemas(doc, forms))
    components["securitySchemes"] = _SECURITY_SCHEMES
    # Its own copy: nothing in it is shared with this module's constants or the cached types.
    return copy.deepcopy(doc)


def install_openapi(app: FastAPI) -> None:
    """Serves build_document() as the app's /openapi.json (and /api/docs), built on first use."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
