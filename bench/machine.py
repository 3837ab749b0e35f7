"""The machine a table was measured on, and the markdown that `--output` writes.

docs/performance.md holds hand-written analysis around the table, so when the file already has
the BEGIN/END markers only the part between them is replaced.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from bench import report

BEGIN = "<!-- bench:begin (written by python -m bench --output) -->"
END = "<!-- bench:end -->"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def section(
    rows: Sequence[report.Row], command: str, seconds: float, reps: int, notes: Sequence[str]
) -> str:
    today = datetime.date.today().isoformat()
    return "\n".join(
        [
            BEGIN,
            f"Measured {today} with `{command}` ({seconds / 60:.1f} minutes, {reps} repetitions"
            " interleaved).",
            f"Machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()},"
            f" load average at the end {load_average()}.",
            "",
            report.markdown_table(rows),
            *([""] + [f"- {note}" for note in notes] if notes else []),
            END,
        ]
    )


def markdown(
    rows: Sequence[report.Row],
    command: str,
    seconds: float,
    reps: int,
    old: str = "",
    notes: Sequence[str] = (),
) -> str:
    """The page: `old` with its marked section replaced, or a new page holding the section."""
    new = section(rows, command, seconds, reps, notes)
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        return head + new + rest.split(END, 1)[1]
    return "# Performance\n\n" + new + "\n"
