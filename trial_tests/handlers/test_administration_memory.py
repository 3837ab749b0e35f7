"""Who may act as an administrator (the /api/admin routes and broadcasts), and who sees a
deactivated account, on a memory server."""

from __future__ import annotations

from trial_tests.support.case import MemoryCase


class AdministratorRuleTests(MemoryCase):
    async def test_only_administrators_use_admin_routes_and_broadcast(self) -> None:
        """root (--admin root) lists accounts and broadcasts; alice gets 403 and `forbidden`."""
        root, alice = await self.start("root", "alice", admins=frozenset({"root"}))
        accounts = self.expect(await root.client.get("/api/admin/users"), 200)
        self.assertEqual({account["username"] for account in accounts}, {"root", "alice"})
        self.expect_error(await alice.client.get("/api/admin/users"), 403, "forbidden")
        roots, alices = await self.socket(root), await self.socket(alice)
        self.exchange(alices, {"type": "broadcast", "content": "from alice", "id": "a"})
        (refused,) = alices.take()
        self.assertEqual((refused["type"], refused["code"]), ("error", "forbidden"))
        self.assertEqual(roots.take(), [])
        self.exchange(roots, {"type": "broadcast", "content": "from root", "id": "r"})
        (delivered,) = alices.take()
        self.assertEqual((delivered["type"], delivered["content"]), ("broadcast", "from root"))

    async def test_a_deactivated_accounts_posts_are_for_administrators_only(self) -> None:
        """Once root deactivates alice, her public post and profile are 404 to bob, who follows
        her, and still there for root."""
        root, alice, bob = await self.start("root", "alice", "bob", admins=frozenset({"root"}))
        self.expect(await self.follow(bob, alice), 201)
        post = self.expect(await alice.client.post("/api/posts", {"content": "hello"}), 201)
        paths = (f"/api/posts/{post['id']}", f"/api/users/{alice.id}")
        for path in paths:
            self.expect(await bob.client.get(path), 200)
        self.expect(await root.client.post(f"/api/admin/users/{alice.id}/deactivate"), 204)
        for path in paths:
            self.expect_error(await bob.client.get(path), 404, "not_found")
            self.expect(await root.client.get(path), 200)
