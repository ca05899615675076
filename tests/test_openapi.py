"""The OpenAPI document (/openapi.json) describes the API Moot serves: Lemmy's types, Lemmy's errors, real statuses.

tests/test_openapi_fuzz.py has schemathesis hold a running server to the document; these tests hold the document
to the rest of the suite: its answer schemas accept what lemmy_shapes.py accepts (real answers of the app) and
refuse what it refuses, and the schemas generated from the types file are the ones committed."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import jsonschema_rs  # schemathesis's JSON Schema validator: a dev dependency through it
import pytest
from fastapi import FastAPI

from conftest import Api, make_comment, make_community, make_post
from gen_openapi_types import OUTPUT, render
from lemmy_shapes import assert_shape
from moot.api.lemmy_v3.forms import GetComments, GetPosts, Search
from moot.api.openapi import query_forms

STATUSES = {"200", "400", "401", "404", "413"}


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    doc: dict[str, Any] = app.openapi()
    return doc


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = document["paths"][f"/api/v3{path}"][method.lower()]
    return op


def schema_errors(document: dict[str, Any], schema: dict[str, Any], body: object) -> list[str]:
    """Every way `body` fails `schema` (which may refer to the document's components), as 'path: problem'."""
    rooted = {**schema, "components": document["components"]}
    checker = jsonschema_rs.Draft202012Validator(rooted, validate_formats=True)
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in checker.iter_errors(body)]


def answer_errors(document: dict[str, Any], method: str, path: str, status: int, body: object) -> list[str]:
    """What is wrong with `body` as the documented answer of `method path` with `status` (KeyError: undocumented)."""
    response = operation(document, method, path)["responses"][str(status)]
    return schema_errors(document, response["content"]["application/json"]["schema"], body)


def type_errors(document: dict[str, Any], name: str, body: object) -> list[str]:
    return schema_errors(document, {"$ref": f"#/components/schemas/{name}"}, body)


def test_the_committed_types_are_the_generated_ones() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), "run: .venv/bin/python tests/gen_openapi_types.py"


def test_every_operation_documents_its_answer_and_real_errors(document: dict[str, Any]) -> None:
    assert document["paths"], "no operations"
    assert all(path.startswith("/api/v3/") for path in document["paths"])
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    ids = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            ids.append(op["operationId"])
            responses = op["responses"]
            assert set(responses) <= STATUSES, (where, set(responses))
            assert "400" in responses, where
            assert ("413" in responses) == (method in ("post", "put")), where
            schema = responses["200"]["content"]["application/json"]["schema"]
            # A bare array (Lemmy 0.19's /user/list_logins answers LoginToken[]) names its items' type.
            answer = schema["$ref"] if "$ref" in schema else schema["items"]["$ref"]
            assert answer.removeprefix("#/components/schemas/") in schemas, where
            for status in set(responses) - {"200"}:
                error = responses[status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/LemmyError"}, (where, status)
            logins = [next(iter(s), None) for s in op["security"]]
            assert set(logins) - {None} == {"bearer", "cookie"}, where
            # An operation that needs a login says so twice: no anonymous option, and 401.
            assert (None not in logins) == ("401" in responses and "not_logged_in" in responses["401"]["description"])
    assert len(ids) == len(set(ids)), "operation ids must be unique"


def test_the_document_is_served_and_built_once(app: FastAPI, document: dict[str, Any]) -> None:
    assert app.openapi() is document


async def test_the_served_document_is_the_apps(http: httpx.AsyncClient, document: dict[str, Any]) -> None:
    r = await http.get("/openapi.json")
    assert r.status_code == 200
    assert r.json() == document


async def test_real_answers_match_the_document_as_lemmy_shapes_does(
    document: dict[str, Any], admin: Api, user: Api, anon: Api
) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], url="https://example.com/a", body="text")
    comment = await make_comment(user, post["id"])
    await make_comment(admin, post["id"], "an answer", parent_id=comment["id"])
    answers: list[tuple[str, str, str, Any]] = [
        ("GET", "/site", "GetSiteResponse", await user.ok_get("/site")),
        ("GET", "/site", "GetSiteResponse", await anon.ok_get("/site")),
        ("GET", "/post", "GetPostResponse", await user.ok_get("/post", id=post["id"])),
        ("GET", "/post/list", "GetPostsResponse", await anon.ok_get("/post/list", type_="All", limit=50)),
        ("GET", "/comment/list", "GetCommentsResponse", await user.ok_get("/comment/list", post_id=post["id"])),
        ("GET", "/community", "GetCommunityResponse", await anon.ok_get("/community", id=community["id"])),
        ("GET", "/user", "GetPersonDetailsResponse", await anon.ok_get("/user", person_id=user.person_id)),
        ("GET", "/user/replies", "GetRepliesResponse", await user.ok_get("/user/replies")),
        ("GET", "/search", "SearchResponse", await anon.ok_get("/search", q="post")),
        ("GET", "/federated_instances", "GetFederatedInstancesResponse", await anon.ok_get("/federated_instances")),
        ("POST", "/post/like", "PostResponse", await user.ok_post("/post/like", {"post_id": post["id"], "score": 1})),
    ]
    for method, path, type_name, body in answers:
        assert_shape(body, type_name)
        assert answer_errors(document, method, path, 200, body) == [], (method, path)


async def test_errors_match_the_document(document: dict[str, Any], user: Api, anon: Api) -> None:
    cases = [
        ("GET", "/post", await anon.get("/post", id=2_000_000_000)),
        ("GET", "/post", await anon.get("/post", id="not-a-number")),
        ("POST", "/post", await anon.post("/post", {"name": "A title", "community_id": 1})),
        ("POST", "/user/login", await anon.post("/user/login", {"username_or_email": "nobody", "password": "x" * 10})),
        ("PUT", "/site", await user.put("/site", {"name": "Mine now"})),
    ]
    statuses = []
    for method, path, (status, body) in cases:
        statuses.append(status)
        assert answer_errors(document, method, path, status, body) == [], (method, path, status, body)
    assert statuses == [404, 400, 401, 401, 400]


def test_query_forms_are_documented_field_by_field(app: FastAPI, document: dict[str, Any]) -> None:
    """Handlers read their GET forms with query_form (not FastAPI's query models): the document must still list
    every field of each form as a query parameter, with its enum schema."""

    for path, form in (("/post/list", GetPosts), ("/comment/list", GetComments), ("/search", Search)):
        parameters = operation(document, "GET", path)["parameters"]
        assert {p["name"] for p in parameters} == set(form.model_fields), path
        assert all(p["in"] == "query" and not p["required"] for p in parameters if p["name"] != "q"), path
    sort = next(p for p in operation(document, "GET", "/post/list")["parameters"] if p["name"] == "sort")
    assert sort["schema"]["$ref"] == "#/components/schemas/SortType"
    assert "SortType" in document["components"]["schemas"]
    by_operation = query_forms(app.routes)
    assert len(by_operation) >= 20
    documented = {op["operationId"]: op for ops in document["paths"].values() for op in ops.values()}
    for operation_id, model in by_operation.items():
        if operation_id in documented:  # the image proxy is left out of the document
            names = {p["name"] for p in documented[operation_id]["parameters"]}
            assert names == set(model.model_fields), operation_id


async def test_a_query_form_reads_as_fastapi_did(anon: Api, user: Api) -> None:
    """The last of a repeated key, unknown keys ignored, a bad value a 400 naming the field."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    r = await anon.client.get(f"/api/v3/post?id=999999999&id={post['id']}&unknown=1")
    assert r.status_code == 200
    assert r.json()["post_view"]["post"]["id"] == post["id"]
    status, body = await anon.get("/post/list", limit="ten")
    assert status == 400
    assert body["error"] == "unknown"
    assert body["message"].startswith("limit: ")
    status, body = await anon.get("/post/list", sort="Sideways")
    assert (status, body["error"]) == (400, "unknown")
    assert body["message"].startswith("sort: ")


def test_the_answer_schemas_refuse_what_lemmy_shapes_refuses(document: dict[str, Any]) -> None:
    person = {
        "id": 1,
        "name": "alice",
        "banned": False,
        "published": "2021-03-01T13:42:43.966208Z",
        "actor_id": "https://moot.test/u/alice",
        "local": True,
        "deleted": False,
        "bot_account": False,
        "instance_id": 1,
    }
    view = {"person": person, "counts": {"person_id": 1, "post_count": 0, "comment_count": 0}, "is_admin": False}
    assert_shape(view, "PersonView")
    assert type_errors(document, "PersonView", view) == []
    wrong: list[tuple[str, Any]] = []
    for label, change in (
        ("an optional field as null", lambda v: v["person"].update(bio=None)),
        ("an undeclared key", lambda v: v["person"].update(karma=3)),
        ("a required field missing", lambda v: v["person"].pop("name")),
        ("a timestamp without Z", lambda v: v["person"].update(published="2021-03-01T13:42:43")),
        ("a string for a number", lambda v: v["counts"].update(post_count="0")),
    ):
        body = copy.deepcopy(view)
        change(body)
        with pytest.raises(AssertionError):
            assert_shape(body, "PersonView")
        wrong.append((label, body))
    accepted = [label for label, body in wrong if not type_errors(document, "PersonView", body)]
    assert accepted == [], f"the document accepts {accepted}"
    # Stricter than TypeScript's `number`: every number Lemmy answers with is an integer.
    fractional = copy.deepcopy(view)
    fractional["counts"]["post_count"] = 0.5
    assert type_errors(document, "PersonView", fractional) != []
    assert type_errors(document, "SortType", "Hot") == []
    assert type_errors(document, "SortType", "hot") != []
