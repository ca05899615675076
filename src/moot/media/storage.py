"""Where image files live: a small key/value interface (`MediaStorage`) and its filesystem implementation.

Keys are Moot's own (`originals/ab/<alias>`, `derived/<alias>/<variant>`), checked against one pattern before
any file is touched: no `..`, no absolute path, no character outside [A-Za-z0-9._-/]. A file is written to a
temporary name in its folder and renamed into place, so a reader never sees half a file and a crash leaves at most
a stray temporary file. An object-storage backend implements the same five methods (and `delete_prefix`).
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from moot.settings import Settings

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,4}$")
_CHUNK = 64 * 1024


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    """The key itself when it is one of ours; InvalidKey otherwise (a path, `..`, odd characters)."""
    if not _KEY.match(key) or any(part in (".", "..") or ".." in part for part in key.split("/")):
        raise InvalidKey(key)
    return key


def original_key(alias: str) -> str:
    """The key of an upload's file, spread over 256 folders by the alias's first characters."""
    check_key(alias)
    return f"originals/{alias[:2].lower()}/{alias}"


def derived_prefix(alias: str) -> str:
    check_key(alias)
    return f"derived/{alias}"


def derived_key(alias: str, variant: str) -> str:
    """The key of a derived file (a thumbnail or a conversion), e.g. variant `t256.webp`."""
    return check_key(f"{derived_prefix(alias)}/{variant}")


class MediaStorage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    def open(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def delete_prefix(self, prefix: str) -> None: ...

    async def list(self, prefix: str) -> list[tuple[str, float]]: ...


class FileStorage:
    """Files under one root folder (MOOT_MEDIA_DIR, else `{MOOT_DATA_DIR}/media`)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise InvalidKey(key)
        return path

    def _put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{secrets.token_hex(8)}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, key, data)

    def _get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        f = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(f.read, _CHUNK):
                yield chunk
        finally:
            f.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    def _delete_prefix(self, prefix: str) -> None:
        path = self.path(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        await asyncio.to_thread(self._delete_prefix, prefix)

    def _list(self, prefix: str) -> list[tuple[str, float]]:
        base = self.path(prefix)
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                found.append((path.relative_to(self.root).as_posix(), path.stat().st_mtime))
        return found

    async def list(self, prefix: str) -> list[tuple[str, float]]:
        """Every key under `prefix` with its modification time (seconds since the epoch)."""
        return await asyncio.to_thread(self._list, prefix)


@functools.cache
def media_storage(settings: Settings) -> FileStorage:
    """The storage the settings name (the filesystem for now)."""
    return FileStorage(settings.media_path)
