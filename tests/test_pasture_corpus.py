"""The fediverse pasture's inputs (the `fediverse-pasture-inputs` package) through Moot's parser.

The package lists, per topic (`available`: attachments, HTML tags, mentions, object types, ...), fragments that
its own `ExampleTransformer` turns into the Note and the Create activity the pasture sends to real servers. Each
of them, as an object and as an activity, goes through `describe` (what `moot ap parse` and, for the envelope,
the inbox use): nothing may raise, and a document that is not accepted must say why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fediverse_pasture_inputs import available
from fediverse_pasture_inputs.tool.transformer import ExampleTransformer

from moot.federation.inspect import describe

REFUSED = "refused: "
KINDS = ("activity", "post", "comment", "actor", "tombstone", "collection")


async def _documents(example: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The example as the pasture sends it (a Create) and as a server would serve its object."""
    activity = await ExampleTransformer().create_activity(example)
    obj = await ExampleTransformer().create_object(example)
    return [("activity", json.dumps(activity).encode()), ("object", json.dumps(obj).encode())]


async def _outcomes(name: str) -> list[tuple[str, bool, str]]:
    outcomes = []
    for index, example in enumerate(available[name].examples):
        for kind, raw in await _documents(example):
            accepted, report = describe(raw)  # any exception fails the test, with the document's name below
            outcomes.append((f"{name}[{index}] as {kind}", accepted, report))
    return outcomes


@pytest.mark.parametrize("name", sorted(available))
async def test_every_document_is_parsed_or_refused_with_a_reason(name: str) -> None:
    outcomes = await _outcomes(name)
    assert outcomes, f"{name} has no examples"
    for where, accepted, report in outcomes:
        if accepted:
            assert report.splitlines()[0].split(" (")[0] in KINDS, (where, report)
        else:
            assert report.startswith(REFUSED) and len(report) > len(REFUSED) + 5, (where, report)


async def test_most_of_the_corpus_is_understood() -> None:
    """A parser that refused everything would pass the test above: most of these are ordinary Notes."""
    outcomes = [outcome for name in sorted(available) for outcome in await _outcomes(name)]
    accepted = [where for where, ok, _ in outcomes if ok]
    assert len(outcomes) > 400
    assert len(accepted) > 0.8 * len(outcomes), [(w, r) for w, ok, r in outcomes if not ok]


async def test_the_list_valued_type_of_the_corpus_is_read_as_a_note() -> None:
    examples = available["object_types"].examples
    index = next(i for i, example in enumerate(examples) if example["type"] == ["Note", "Article"])
    for kind, raw in await _documents(examples[index]):
        accepted, report = describe(raw)
        assert accepted, (kind, report)
        assert "post (Note)" in report
