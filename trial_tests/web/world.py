"""A small world for the browser tests: two people who follow each other, a post, a group with
both in it, a group event and a private conversation, all made through the public API."""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred

from trial_tests.support.chat import Person, register
from trial_tests.support.harness import RunningServer, serve, test_config
from trial_tests.support.wsclient import connect


@dataclasses.dataclass(frozen=True)
class World:
    ann: Person
    bob: Person
    group_id: int
    post_id: int

    @property
    def views(self) -> dict[str, str]:
        """Each main view of the client as ann sees it: name -> path."""
        return {
            "feed": "/",
            "chat": "/chat",
            "conversation": f"/chat/u/{self.bob.id}",
            "group chat": f"/chat/g/{self.group_id}",
            "profile": f"/u/{self.bob.username}",
            "group": f"/g/{self.group_id}",
            "post": f"/posts/{self.post_id}",
            "notifications": "/notifications",
            "settings": "/settings",
        }


async def make_world(running: RunningServer) -> World:
    ann, bob = [await register(running.url, name) for name in ("ann", "bob")]
    for one, other in ((ann, bob), (bob, ann)):
        assert (await one.client.post(f"/api/users/{other.id}/follow")).status == 201
    post = await bob.client.post("/api/posts", {"content": "Hello from bob's garden"})
    group = await ann.client.post("/api/groups", {"name": "Gardeners", "description": "Soil"})
    group_id = group.json["id"]
    await ann.client.post("/api/groups/invite", {"group_id": group_id, "user_id": bob.id})
    await bob.client.post(f"/api/groups/{group_id}/invitation/accept")
    event = {"title": "Seed swap", "starts_at": "2030-01-01T12:00:00Z"}
    await ann.client.post(f"/api/groups/{group_id}/events", event)
    socket = await connect(running.url, bob.token)
    try:
        for number, content in enumerate(["Hi ann!", "Tomatoes are in.", "See you Sunday"]):
            socket.send({"type": "private", "to": ann.id, "content": content, "id": f"c{number}"})
            assert (await socket.next_of("ack"))["id"] == f"c{number}"
        socket.send({"type": "group", "group_id": group_id, "content": "Welcome", "id": "g"})
        await socket.next_of("ack")
    finally:
        await socket.close()
    return World(ann, bob, group_id, post.json["id"])


def numbered(number: int) -> str:
    """The text of the long conversation's message `number` (fill_conversation)."""
    return f"Message {number:05d}"


async def fill_conversation(running: RunningServer, sender: Person, to: int, count: int) -> None:
    """`count` private messages from `sender` to `to`, "Message 00000" onwards, sent over a
    socket a batch at a time (each batch acked before the next). The server must run with
    rate_limit=0."""
    batch = 200
    socket = await connect(running.url, sender.token)
    try:
        for start in range(0, count, batch):
            numbers = range(start, min(count, start + batch))
            for number in numbers:
                socket.send(
                    {"type": "private", "to": to, "content": numbered(number), "id": str(number)}
                )
            for _ in numbers:
                await socket.next_of("ack")
    finally:
        await socket.close()


@asynccontextmanager
async def fresh_server(**overrides: Any) -> AsyncIterator[RunningServer]:
    """A server of its own (SQLite in a temporary directory, Config `overrides` applied) for
    the hand-run scripts; stopped on leaving."""
    with tempfile.TemporaryDirectory() as directory:
        config = test_config(
            f"sqlite:{directory}/world.sqlite3", media_dir=f"{directory}/m", **overrides
        )
        running = await serve(config)
        try:
            yield running
        finally:
            await running.stop()


@asynccontextmanager
async def world_server(**overrides: Any) -> AsyncIterator[tuple[RunningServer, World]]:
    """A fresh server holding the world, for the hand-run scripts (bench/screenshots.py,
    bench/first_message.py, bench/chat_scale.py), with any Config overrides."""
    async with fresh_server(**overrides) as running:
        yield running, await make_world(running)


def time_by_hand(
    once: Callable[[], Awaitable[float]], doc: str, default_runs: int, what: str
) -> None:
    """A hand-run script's main: `--runs` times `once` (which gives seconds), each figure
    printed with `what` it measured, then the median and the worst. `doc` is the script's."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=default_runs)
    runs = parser.parse_args().runs

    async def measure(reactor: Any) -> None:
        times = []
        for number in range(runs):
            times.append(await once())
            print(f"run {number + 1}: {times[-1] * 1000:.0f} ms {what}", flush=True)
        median, worst = statistics.median(times) * 1000, max(times) * 1000
        print(f"{runs} runs: median {median:.0f} ms, worst {worst:.0f} ms")

    task.react(lambda reactor: Deferred.fromCoroutine(measure(reactor)))
