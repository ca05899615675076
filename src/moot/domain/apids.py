"""ActivityPub ids of local objects, on the same paths Lemmy uses."""

from __future__ import annotations


def person_ap_id(base_url: str, name: str) -> str:
    return f"{base_url}/u/{name}"


def community_ap_id(base_url: str, name: str) -> str:
    return f"{base_url}/c/{name}"


def post_ap_id(base_url: str, post_id: int) -> str:
    return f"{base_url}/post/{post_id}"


def comment_ap_id(base_url: str, comment_id: int) -> str:
    return f"{base_url}/comment/{comment_id}"


def site_ap_id(base_url: str) -> str:
    return f"{base_url}/"


def private_message_ap_id(base_url: str, message_id: int) -> str:
    return f"{base_url}/private_message/{message_id}"
