"""Reports end to end on both engines: any user reports what they can see; administrators list
open and resolved reports and resolve them, each resolution recorded in the audit log."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.administration import AdministrationTestMixin
from trial_tests.support.groups import RFC3339, Person
from trial_tests.support.harness import PostgresEngine, Response, SqliteEngine

REPORT_KEYS = {
    "id",
    "kind",
    "target_id",
    "reason",
    "reporter",
    "created_at",
    "status",
    "resolved_at",
    "resolved_by",
    "note",
}


class ReportsTests(AdministrationTestMixin):
    async def report(
        self, person: Person, kind: Any, target_id: Any, reason: Any = "spam"
    ) -> Response:
        body = {"kind": kind, "id": target_id, "reason": reason}
        return await person.client.post("/api/reports", body)

    async def reports(self, root: Person, status: str = "") -> list[dict[str, Any]]:
        query = f"?status={status}" if status else ""
        found: list[dict[str, Any]] = self.expect(
            await self.admin(root, "GET", f"/reports{query}"), 200
        )
        return found

    async def test_report_what_one_sees(self) -> None:
        """A post, a comment, a message and a user the reporter sees: 201 with the id, listed
        open for administrators, oldest first."""
        root, alice, bob = await self.start("alice", "bob")
        post = await self.post(bob, "buy now")
        comment = await self.comment(bob, post["id"], "buy now")
        message = await self.message(bob, alice)
        targets = [
            ("post", post["id"]),
            ("comment", comment["id"]),
            ("message", message),
            ("user", bob.id),
        ]
        filed = [
            self.expect(await self.report(alice, kind, target), 201)["id"]
            for kind, target in targets
        ]
        listed = await self.reports(root)
        self.assertEqual([report["id"] for report in listed], filed)
        self.assertEqual([(r["kind"], r["target_id"]) for r in listed], targets)
        first = listed[0]
        self.assertEqual(set(first), REPORT_KEYS)
        self.assertEqual(
            (first["reason"], first["status"], first["reporter"]["id"]), ("spam", "open", alice.id)
        )
        self.assertRegex(first["created_at"], RFC3339)
        self.assertEqual(
            (first["resolved_at"], first["resolved_by"], first["note"]), (None, None, None)
        )
        self.assertEqual(await self.reports(root, "resolved"), [])

    async def test_what_one_cannot_see_is_not_found(self) -> None:
        """A missing target, a post hidden from the reporter, a message of others' conversation,
        a deactivated user: 404, and nothing stored."""
        root, alice, bob, carol = await self.start("alice", "bob", "carol")
        hidden = await self.post(bob, "for followers", privacy="followers")
        message = await self.message(bob, carol)
        self.expect(await self.admin(root, "POST", f"/users/{carol.id}/deactivate"), 204)
        for kind, target in [
            ("post", hidden["id"]),
            ("post", 999999),
            ("comment", 999999),
            ("message", message),
            ("user", carol.id),
            ("user", 999999),
        ]:
            self.expect_error(await self.report(alice, kind, target), 404, "not_found")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM reports"), 0)

    async def test_bad_reports(self) -> None:
        """A bad kind, id or reason (missing, blank, over 1000 characters): 400, nothing stored;
        anonymous: 401."""
        _, alice, bob = await self.start("alice", "bob")
        for kind, target, reason in [
            ("group", bob.id, "spam"),
            (None, bob.id, "spam"),
            ("user", "abc", "spam"),
            ("user", 0, "spam"),
            ("user", bob.id, None),
            ("user", bob.id, "   "),
            ("user", bob.id, "x" * 1001),
        ]:
            response = await self.report(alice, kind, target, reason)
            self.expect_error(response, 400, "invalid_request")
        self.expect(await self.report(alice, "user", bob.id, "x" * 1000), 201)
        anonymous = await self.running.client().post(
            "/api/reports", {"kind": "user", "id": bob.id, "reason": "x"}
        )
        self.expect_error(anonymous, 401, "unauthorized")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM reports"), 1)

    async def test_resolve(self) -> None:
        """Resolving with a note: the report as resolved, listed as such; recorded in the audit
        log; a second resolution is 409, an unknown report 404, a bad note or status 400."""
        root, alice, bob = await self.start("alice", "bob")
        first = self.expect(await self.report(alice, "user", bob.id), 201)["id"]
        second = self.expect(await self.report(alice, "user", bob.id, "again"), 201)["id"]
        self.expect_error(
            await self.admin(root, "POST", f"/reports/{first}/resolve", {"note": 5}),
            400,
            "invalid_request",
        )
        resolved = self.expect(
            await self.admin(root, "POST", f"/reports/{first}/resolve", {"note": "warned"}), 200
        )
        self.assertEqual(
            (resolved["status"], resolved["note"], resolved["resolved_by"]),
            ("resolved", "warned", root.id),
        )
        self.assertRegex(resolved["resolved_at"], RFC3339)
        self.expect(await self.admin(root, "POST", f"/reports/{second}/resolve"), 200)
        self.assertEqual(await self.reports(root, "open"), [])
        self.assertEqual([r["id"] for r in await self.reports(root, "resolved")], [second, first])
        self.expect_error(
            await self.admin(root, "POST", f"/reports/{first}/resolve"), 409, "conflict"
        )
        self.expect_error(
            await self.admin(root, "POST", "/reports/999999/resolve"), 404, "not_found"
        )
        self.expect_error(
            await self.admin(root, "GET", "/reports?status=all"), 400, "invalid_request"
        )
        entries = [(e["action"], e["target_id"], e["detail"]) for e in await self.audit(root)]
        expected = [("resolve_report", second, {}), ("resolve_report", first, {"note": "warned"})]
        self.assertEqual(entries, expected)


class ReportsSqliteTests(SqliteEngine, ReportsTests, TestCase):
    pass


class ReportsPostgresTests(PostgresEngine, ReportsTests, TestCase):
    pass
