"""The sign-up captcha (Lemmy's `captcha_enabled`, `captcha_difficulty`): an image and a spoken version of the
same digits, the answer stored under a random uuid, redeemed once at registration within ten minutes."""

from __future__ import annotations

import asyncio
import secrets
import uuid as uuidlib
from dataclasses import dataclass
from datetime import timedelta

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.person import CaptchaAnswer
from moot.db.site import LocalSite
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow

EXPIRY = timedelta(minutes=10)
# Digits only: the audio version speaks digits (the library's voice has no letters), and both say the same.
LENGTH_BY_DIFFICULTY = {"easy": 4, "medium": 5, "hard": 6}
DIFFICULTIES = tuple(LENGTH_BY_DIFFICULTY)


@dataclass(frozen=True, slots=True)
class Captcha:
    uuid: str
    png: bytes
    wav: bytes


def _draw(answer: str) -> tuple[bytes, bytes]:
    png = ImageCaptcha().generate(answer, format="png").getvalue()
    wav = bytes(AudioCaptcha().generate(answer))
    return png, wav


async def create(session: AsyncSession, local_site: LocalSite) -> Captcha | None:
    """A new captcha when the site asks for one (None otherwise, Lemmy's empty GetCaptchaResponse). The drawing
    runs in a thread: the sound takes a few hundred milliseconds of CPU."""
    if not local_site.captcha_enabled:
        return None
    length = LENGTH_BY_DIFFICULTY.get(local_site.captcha_difficulty, LENGTH_BY_DIFFICULTY["medium"])
    answer = "".join(secrets.choice("0123456789") for _ in range(length))
    png, wav = await asyncio.to_thread(_draw, answer)
    key = str(uuidlib.uuid4())
    session.add(CaptchaAnswer(uuid=key, answer=answer, published=utcnow()))
    return Captcha(uuid=key, png=png, wav=wav)


async def redeem(session: AsyncSession, key: str | None, answer: str | None) -> bool:
    """Whether `answer` is the answer of captcha `key`, given within ten minutes. The captcha is used up either
    way (one try per image), and expired ones are swept at the same time. Call it in its own transaction, before
    the registration: a refused registration must not give the captcha back."""
    now = utcnow()
    await session.execute(delete(CaptchaAnswer).where(CaptchaAnswer.published < now - EXPIRY))
    if not key or answer is None:
        return False
    # Taken and deleted in one statement: of two requests racing with the same captcha, one gets the answer.
    stored = await session.scalar(
        delete(CaptchaAnswer).where(CaptchaAnswer.uuid == key[:64]).returning(CaptchaAnswer.answer)
    )
    if stored is None:
        return False
    return secrets.compare_digest(stored.encode(), answer.strip().encode())


def check_registration(local_site: LocalSite, passed: bool) -> None:
    """Asked by the registration (Lemmy asks only once the site is set up: its first admin has no captcha)."""
    if local_site.site_setup and local_site.captcha_enabled and not passed:
        raise LemmyError("captcha_incorrect")


def check_difficulty(value: object) -> None:
    if value is not None and value not in DIFFICULTIES:
        raise LemmyError("unknown", f"captcha_difficulty: one of {', '.join(DIFFICULTIES)}")


async def sound_of(session: AsyncSession, key: str) -> bytes | None:
    """The spoken version of a captcha still waiting for its answer (the sign-up page links to it: a page cannot
    play a data: URL under its Content-Security-Policy). Drawn anew each time, from the stored answer."""
    row = await session.get(CaptchaAnswer, key[:64])
    if row is None or row.published < utcnow() - EXPIRY:
        return None
    return bytes(await asyncio.to_thread(AudioCaptcha().generate, row.answer))
