"""From repeated measurements to one table: medians, and ratios against the baseline.

A ratio is the median of per-repetition ratios: repetition i of a server is paired with
repetition i of the baseline, measured a few seconds apart, so slow drift of the shared
machine cancels out better than in a ratio of medians.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

Figures = dict[str, float]

# workload -> (figure, format) of the main result, then the secondary ones.
MAIN: dict[str, tuple[str, str]] = {
    "private": ("msgs_per_s", "{:,.0f} msg/s"),
    "latency": ("p99_ms", "p99 {:.2f} ms"),
    "broadcast": ("p99_ms", "p99 {:.2f} ms"),
    "fanout": ("deliveries_per_s", "{:,.0f} deliveries/s"),
    "connections": ("kib_per_socket", "{:.1f} KiB/socket"),
    "history": ("p99_ms", "p99 {:.2f} ms"),
    "history1": ("p99_ms", "p99 {:.2f} ms"),
    "bus": ("cpu_us", "{:.0f} µs/msg"),
    "typing": ("forwarded_per_s", "{:,.0f} forwarded/s"),
    "presence": ("connects_per_s", "{:,.0f} connects/s"),
}
ALSO: dict[str, list[tuple[str, str]]] = {
    "private": [("cpu_us", "{:.0f} µs/msg"), ("helper_cpu_us", "+{:.0f} µs/msg in DB")],
    "latency": [
        ("p50_ms", "p50 {:.2f} ms"),
        ("offered_per_s", "{:,.0f} msg/s sent"),
        ("delivered_per_s", "{:,.0f} delivered"),
        ("lost", "{:.0f} late/lost"),
    ],
    "broadcast": [("p50_ms", "p50 {:.2f} ms"), ("lost", "{:.0f} late/lost")],
    "fanout": [("cpu_us", "{:.1f} µs/delivery"), ("helper_cpu_us", "+{:.1f} µs in DB")],
    "connections": [
        ("connects_per_s", "{:,.0f} connects/s"),
        ("sockets", "{:,.0f} open"),
        ("errors", "{:.0f} errors"),
    ],
    "history": [
        ("p50_ms", "p50 {:.2f} ms"),
        ("req_per_s", "{:,.0f} req/s"),
        ("cpu_us", "{:.0f} µs/req"),
        ("helper_cpu_us", "+{:.0f} µs/req in DB"),
        ("errors", "{:.0f} errors"),
    ],
    "history1": [
        ("p50_ms", "p50 {:.2f} ms"),
        ("req_per_s", "{:,.0f} req/s"),
        ("cpu_us", "{:.0f} µs/req"),
        ("helper_cpu_us", "+{:.0f} µs/req in DB"),
        ("errors", "{:.0f} errors"),
    ],
    "bus": [("msgs_per_s", "{:,.0f} msg/s"), ("helper_cpu_us", "+{:.0f} µs/msg in DB+Redis")],
    "typing": [
        ("cpu_us", "{:.0f} µs/forwarded"),
        ("offered_per_s", "{:,.0f} frames/s sent"),
        ("frame_cpu_us", "{:.0f} µs/frame sent"),
        ("helper_cpu_us", "+{:.0f} µs/forwarded in DB"),
        ("errors", "{:.0f} errors"),
    ],
    "presence": [
        ("cpu_us", "{:.0f} µs/connect"),
        ("helper_cpu_us", "+{:.0f} µs/connect in DB+Redis"),
        ("presence_frames", "{:,.0f} presence frames"),
        ("lost", "{:.0f} lost"),
        ("duplicates", "{:.0f} extra"),
        ("errors", "{:.0f} errors"),
    ],
}
TITLES = {
    "private": "1 private relay, 100 clients, saturated",
    "latency": "2 latency, private, 2,000 msg/s offered",
    "broadcast": "2 latency, broadcast to 100, 20/s",
    "fanout": "3 group fan-out, 1 sender",
    "connections": "4 idle sockets",
    "history": "5 history page, 20 readers",
    "history1": "5 history page, 1 reader",
    "bus": "6 bus: private relay, saturated",
    "typing": "7 typing storm, 100 clients at 5 frames/s",
    "presence": "8 presence: 5,000 users, 50 followers each, connecting within 10 s",
}
HEADER = (
    "Workload",
    "Server",
    "Result (median)",
    "Ratio",
    "Also (medians)",
    "Server CPU",
    "Gen. CPU",
    "Runs",
)


@dataclass(frozen=True)
class Measurement:
    workload: str
    server: str
    rep: int
    figures: Figures


@dataclass(frozen=True)
class Row:
    workload: str
    server: str
    cells: tuple[str, ...]


def expand(measurement: Measurement) -> list[Measurement]:
    """A history measurement (`history/<readers>`) holds four kinds of page: one row each."""
    if not measurement.workload.startswith("history/"):
        return [measurement]
    readers = measurement.workload.split("/")[1]
    rows = []
    figures = measurement.figures
    for kind in ("private", "private deep", "group", "group deep"):
        own = {key.split("/", 1)[1]: v for key, v in figures.items() if key.startswith(kind + "/")}
        shared = {k: v for k, v in figures.items() if "/" not in k}
        server = f"{measurement.server}: {kind}"
        workload = "history" if readers != "1" else "history1"
        rows.append(Measurement(workload, server, measurement.rep, {**shared, **own}))
    return rows


def _median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def _ratio(own: dict[int, Figures], base: dict[int, Figures], key: str) -> float:
    ratios = [own[rep][key] / base[rep][key] for rep in own if rep in base and base[rep].get(key)]
    return _median(ratios)


def summarize(measurements: Sequence[Measurement], baselines: dict[str, str]) -> list[Row]:
    """One row per (workload, server), in the order they were measured."""
    by_key: dict[tuple[str, str], dict[int, Figures]] = {}
    for measurement in (m for raw in measurements for m in expand(raw)):
        by_key.setdefault((measurement.workload, measurement.server), {})[measurement.rep] = (
            measurement.figures
        )
    rows = []
    for (workload, server), reps in by_key.items():
        key, form = MAIN[workload]
        median = {k: _median([f.get(k, math.nan) for f in reps.values()]) for k in _keys(reps)}
        base_name = baselines.get(workload)
        ratio = "—"
        if base_name is not None and (workload, base_name) in by_key and server != base_name:
            value = _ratio(reps, by_key[(workload, base_name)], key)
            ratio = f"∞ vs {base_name}" if math.isinf(value) else f"{value:.2f}x {base_name}"
        elif server == base_name:
            ratio = "1.00 (baseline)"
        also = ", ".join(_format(f, median[k]) for k, f in ALSO[workload] if _shown(median, k))
        rows.append(
            Row(
                workload,
                server,
                (
                    TITLES[workload],
                    server,
                    _format(form, median[key]),
                    ratio,
                    also,
                    f"{median.get('server_cpu_pct', math.nan):.0f}%",
                    f"{median.get('gen_cpu_pct', math.nan):.0f}%",
                    str(len(reps)),
                ),
            )
        )
    return rows


def _keys(reps: dict[int, Figures]) -> set[str]:
    return {key for figures in reps.values() for key in figures}


def _format(form: str, value: float) -> str:
    """A figure as text; an infinite latency means messages that never arrived."""
    if math.isinf(value):
        return form.split("{")[0] + "∞ (overloaded)"
    return form.format(value)


def _shown(median: Figures, key: str) -> bool:
    value = median.get(key, math.nan)
    return not math.isnan(value) and not (key.startswith("helper") and value == 0)


def text_table(rows: Sequence[Row]) -> str:
    lines = [HEADER, *(row.cells for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for number, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in out)


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells) + " |" for row in rows]
    return "\n".join(lines)
