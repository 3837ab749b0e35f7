"""What every peer shares: the fixtures (tokens and groups, kept in memory) and the routing of
one client frame. Each peer only adds its framework's way of finding and writing to sockets."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

PRIVATE, GROUP, BROADCAST = "private", "group", "broadcast"


@dataclass(frozen=True)
class Fixtures:
    tokens: dict[str, int]  # token -> user id
    groups: dict[int, list[int]]  # group id -> member ids
    groups_of: dict[int, list[int]]  # user id -> group ids


def load(path: str | None = None) -> Fixtures:
    """Read the file the runner wrote (bench/fixtures.py: write_peer_file)."""
    with open(path or os.environ["BENCH_FIXTURES"]) as source:
        data = json.load(source)
    groups = {int(g): members for g, members in data["groups"].items()}
    groups_of: dict[int, list[int]] = {}
    for group_id, members in groups.items():
        for member in members:
            groups_of.setdefault(member, []).append(group_id)
    return Fixtures(data["tokens"], groups, groups_of)


def user_of(fixtures: Fixtures, query_string: str) -> int | None:
    """The user whose token is in `?token=`, or None (the connection is refused)."""
    token = (parse_qs(query_string).get("token") or [""])[0]
    return fixtures.tokens.get(token)


def route(sender: int, frame: Any) -> tuple[str, int, dict[str, Any]] | None:
    """(kind, recipient or group id, the frame to forward) or None for a frame we ignore."""
    if not isinstance(frame, dict):
        return None
    kind = frame.get("type")
    out = {**frame, "from": sender}
    if kind == PRIVATE:
        return PRIVATE, int(frame["to"]), out
    if kind == GROUP:
        return GROUP, int(frame["group_id"]), out
    if kind == BROADCAST:
        return BROADCAST, 0, out
    return None


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fixtures", required=True)
    return parser.parse_args()
