"""Lemmy's error types: the exact strings and status codes clients compare against."""

from __future__ import annotations


class LemmyError(Exception):
    """A failure the API reports as `{"error": type}` (plus `message` for the variants with data)."""

    def __init__(self, error: str, message: str | None = None, status: int = 400) -> None:
        super().__init__(error if message is None else f"{error}: {message}")
        self.error = error
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        if self.message is None:
            return {"error": self.error}
        return {"error": self.error, "message": self.message}


def not_found(kind: str) -> LemmyError:
    """`couldnt_find_post` and friends; Lemmy answers 404 when the database found nothing."""
    return LemmyError(f"couldnt_find_{kind}", status=404)


NOT_LOGGED_IN = "not_logged_in"
INCORRECT_LOGIN = "incorrect_login"
