"""What the administration and report tests share: a server whose first person, root, is an
administrator, with helpers to act as one and to read the audit log."""

from __future__ import annotations

from typing import Any

from trial_tests.support.groups import Person
from trial_tests.support.harness import Response
from trial_tests.support.posts import PostTestMixin
from trial_tests.support.wsclient import WsClient, connect

ROOT = "root"
AUDIT_KEYS = {"id", "actor_id", "action", "target_kind", "target_id", "detail", "created_at"}
ACCOUNT_KEYS = {
    "id",
    "username",
    "display_name",
    "avatar_url",
    "email",
    "status",
    "is_admin",
    "created_at",
    "last_seen",
}


class AdministrationTestMixin(PostTestMixin):
    """A server with root, an administrator (--admin root), and the people named after it."""

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        """root first, then one person per name; `admins` defaults to {root}."""
        overrides.setdefault("admins", frozenset({ROOT}))
        return await super().start(ROOT, *names, **overrides)

    async def admin(self, person: Person, method: str, path: str, body: Any = None) -> Response:
        """`method` /api/admin`path` as `person`, with a JSON `body` when given."""
        return await person.client.request(method, f"/api/admin{path}", json=body)

    async def audit(self, root: Person, query: str = "") -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.expect(
            await self.admin(root, "GET", f"/audit{query}"), 200
        )
        return entries

    async def audit_count(self) -> int:
        return await self.count_rows("SELECT COUNT(*) FROM audit_log")

    async def socket_of(self, person: Person) -> WsClient:
        """A WebSocket of `person`'s session on the test's server, closed at the end."""
        ws = await connect(self.running.url, person.client.session_token())
        self.addCleanup(ws.close)
        return ws

    async def message(self, sender: Person, to: Person) -> int:
        """A private message from `sender` to `to`, acked: its id."""
        ws = await self.socket_of(sender)
        ws.send({"type": "private", "to": to.id, "content": "hello", "id": "m"})
        ack = await ws.next_of("ack")
        message_id: int = ack["message_id"]
        return message_id
