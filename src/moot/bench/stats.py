"""Latency summaries: requests per second and the p50/p95/p99 of one measurement, and medians over repeats."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Summary:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float

    def as_json(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when it is empty)."""
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize(latencies: list[float], errors: int, seconds: float) -> Summary:
    """`latencies` in seconds, of the successful requests only; errors count separately."""
    ordered = sorted(latencies)
    ms = 1000.0
    return Summary(
        requests=len(ordered),
        errors=errors,
        seconds=seconds,
        rps=len(ordered) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(ordered, 0.50) * ms,
        p95_ms=percentile(ordered, 0.95) * ms,
        p99_ms=percentile(ordered, 0.99) * ms,
        mean_ms=(statistics.fmean(ordered) * ms) if ordered else 0.0,
    )


def median_of(runs: list[Summary]) -> Summary:
    """Each figure is the median of that figure over the repeats (noisy machines: medians, not means)."""
    return Summary(
        requests=int(statistics.median(r.requests for r in runs)),
        errors=int(statistics.median(r.errors for r in runs)),
        seconds=statistics.median(r.seconds for r in runs),
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p95_ms=statistics.median(r.p95_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        mean_ms=statistics.median(r.mean_ms for r in runs),
    )
