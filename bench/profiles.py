"""Summarize a py-spy profile in its raw (collapsed stacks) format: where the samples are.

`python -m bench.profiles FILE [N]` prints the N functions with the most samples on top of the
stack (self), the socialhub functions with the most samples anywhere on the stack (inclusive),
and the share of samples by library, as percentages of every sample. Line numbers are dropped,
so that one function is one entry.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")
_LIBRARIES = ("socialhub", "txpostgres", "psycopg2", "autobahn", "twisted", "txredisapi", "json")


def _function(frame: str) -> str:
    return _LINE.sub(")", frame)


def _library(frame: str) -> str:
    for name in _LIBRARIES:
        if f"({name}/" in frame or f"/{name}/" in frame:
            return name
    return "other"


def summarize(path: Path, top: int = 20) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    library: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        library[_library(frames[-1])] += count
        for frame in set(frames):
            if "(socialhub/" in frame:
                inclusive[frame] += count
    if not total:
        return "no samples"

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f}"

    lines = [f"{total} samples", "", "self %  by library (top of stack)"]
    lines += [f"{share(n)}  {name}" for name, n in library.most_common()]
    lines += ["", "self %  function"]
    lines += [f"{share(n)}  {name}" for name, n in own.most_common(top)]
    lines += ["", "incl %  socialhub function"]
    lines += [f"{share(n)}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20))
