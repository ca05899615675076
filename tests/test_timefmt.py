"""lemmy_time formats fields directly for speed: it must write exactly what isoformat() wrote before."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from moot.domain.timefmt import as_utc, lemmy_time


def _by_isoformat(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds")[:26] + "Z"


def test_lemmy_time_matches_isoformat() -> None:
    rng = random.Random(16)
    zones = [None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
    edges = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(2024, 2, 29)]
    values = edges + [
        datetime(
            rng.randint(2, 9998),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice([0, 1, 999999, rng.randint(0, 999999)]),
            tzinfo=rng.choice(zones),
        )
        for _ in range(2000)
    ]
    for value in values:
        assert lemmy_time(value) == _by_isoformat(value), value


def test_lemmy_time_shape() -> None:
    assert lemmy_time(datetime(2024, 3, 5, 1, 2, 3, tzinfo=UTC)) == "2024-03-05T01:02:03.000000Z"
    assert lemmy_time(datetime(2024, 3, 5, 1, 2, 3, 40)) == "2024-03-05T01:02:03.000040Z"
    assert lemmy_time(datetime(2024, 3, 5, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == "2024-03-04T23:00:00.000000Z"
