"""Percentiles of latencies (nearest rank: the p99 of 10,000 samples is the 9,900th)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def latency_figures(latencies_ns: Sequence[float], missing: int = 0) -> dict[str, float]:
    """p50, p99 and max in milliseconds, and how many samples they come from; `missing`
    samples (never arrived) count as infinitely late, so an overloaded server's p99 is inf."""
    ordered = sorted([*latencies_ns, *([math.inf] * missing)])
    return {
        "p50_ms": percentile(ordered, 0.50) / 1e6,
        "p99_ms": percentile(ordered, 0.99) / 1e6,
        "max_ms": (ordered[-1] / 1e6) if ordered else math.nan,
        "samples": len(ordered),
    }
