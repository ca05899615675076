"""Reading an instance's software from its NodeInfo (federation/software.py): what a hostile or odd server can
serve is refused or bounded, never stored as is. The end-to-end path (a peer's NodeInfo fetched, listed in
GET /federated_instances, and deciding which announces it gets) is in test_federation_settings.py."""

from __future__ import annotations

from typing import Any

import pytest

from moot.federation.fetch import FetchError
from moot.federation.software import nodeinfo_href, reads_group_announces, software_in

BASE = "https://far.example"
SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/"


def test_the_newest_2x_document_on_the_same_host_is_read() -> None:
    links = [
        {"rel": f"{SCHEMA}2.0", "href": f"{BASE}/nodeinfo/2.0"},
        {"rel": f"{SCHEMA}2.1", "href": f"{BASE}/nodeinfo/2.1"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/1.0", "href": f"{BASE}/nodeinfo/1.0"},
        "not a link",
        {"rel": f"{SCHEMA}2.2"},
    ]
    assert nodeinfo_href({"links": links}, BASE) == f"{BASE}/nodeinfo/2.1"


@pytest.mark.parametrize(
    "index",
    [
        {},
        {"links": "https://far.example/nodeinfo/2.1"},
        {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/1.1", "href": f"{BASE}/nodeinfo/1.1"}]},
        {"links": [{"rel": f"{SCHEMA}2.1", "href": "https://elsewhere.example/nodeinfo/2.1"}]},
        {"links": [{"rel": f"{SCHEMA}2.1", "href": "https://far.example.evil/nodeinfo/2.1"}]},
    ],
)
def test_an_index_without_a_2x_document_on_the_host_is_refused(index: dict[str, Any]) -> None:
    with pytest.raises(FetchError):
        nodeinfo_href(index, BASE)


def test_the_name_is_lowercased_and_the_version_bounded() -> None:
    found = software_in({"software": {"name": "Lemmy", "version": " 0.19.20 "}})
    assert (found.name, found.version) == ("lemmy", "0.19.20")
    assert software_in({"software": {"name": "mastodon", "version": "4" * 1000}}).version == "4" * 255
    assert software_in({"software": {"name": "mastodon", "version": "4.3\n<script>"}}).version is None
    assert software_in({"software": {"name": "mastodon", "version": 4}}).version is None


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"software": "lemmy"},
        {"software": {"version": "1"}},
        {"software": {"name": ""}},
        {"software": {"name": "lemmy 0.19"}},
        {"software": {"name": "<b>lemmy</b>"}},
        {"software": {"name": "x" * 65}},
        {"software": {"name": ["lemmy"]}},
    ],
)
def test_a_document_without_a_nodeinfo_name_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(FetchError):
        software_in(document)


def test_only_known_group_software_goes_without_announce_page() -> None:
    assert all(reads_group_announces(name) for name in ("lemmy", "piefed", "mbin", "moot"))
    assert not any(reads_group_announces(name) for name in ("mastodon", "pleroma", "misskey", "lemmyx", None))
