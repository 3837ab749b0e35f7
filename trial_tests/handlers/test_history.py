"""The history handler's rules on both engines: who may read a conversation, checked before
the page and before a bad paging field, each a single read."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.errors import Forbidden, InvalidRequest, NotFound, SocialHubError
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.commands import GroupHistory, HistoryPage, Paging, PrivateHistory
from socialhub.handlers.history import History
from socialhub.handlers.membership import Membership
from socialhub.reactor import as_reactor
from socialhub.storage.database import Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.groups import INVITED, MEMBER, GroupsStore
from socialhub.storage.stores.message_changes import MessageChangesStore
from socialhub.storage.stores.message_rows import Draft
from socialhub.storage.stores.messages import MessagesStore
from socialhub.storage.stores.users import UsersStore
from trial_tests.support.counting import CountingDatabase
from trial_tests.support.database import insert_user
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url
from trial_tests.support.mixins import EngineTestMixin

NOW = 1_800_000_000
UNKNOWN = 10**9
BAD_PAGING = InvalidRequest("limit must be a non-negative integer")


class HistoryTests(EngineTestMixin):
    async def start(self) -> None:
        """alice owns a group where bob is a member and carol is invited; dave is in none."""
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        await migrate(database)

        async def people(txn: Transaction) -> list[int]:
            return [await insert_user(txn, name) for name in ("alice", "bob", "carol", "dave")]

        self.alice, self.bob, self.carol, self.dave = await database.interaction("people", people)
        self.database = CountingDatabase(database)  # counts the handler's reads
        self.messages = MessagesStore(self.database)
        self.users = UsersStore(self.database)
        groups = GroupsStore(self.database)
        changes = MessageChangesStore(self.database)
        self.history = History(self.messages, changes, self.users, Membership(groups))
        self.group_id = (await groups.create("g", "", self.alice, NOW)).id
        await groups.add(self.group_id, self.bob, MEMBER, NOW, None)
        await groups.add(self.group_id, self.carol, INVITED, NOW, None)

    async def viewer(self, user_id: int) -> Viewer:
        user = await self.users.get(user_id)
        assert user is not None
        return Viewer(user, session_id=1)

    async def send(self, count: int, **target: int) -> list[int]:
        """`count` messages from alice, their ids newest first."""
        recipient, group = target.get("recipient_id"), target.get("group_id")
        drafts = [
            Draft(self.alice, f"m{n}", NOW, f"c{n}-{target}", recipient, group)
            for n in range(count)
        ]
        stored = await self.messages.store_batch(drafts)
        ids = []
        for outcome in stored:
            assert isinstance(outcome, tuple), outcome
            ids.append(outcome[0].id)
        return ids[::-1]

    async def read_private(self, reader: int, other: int, paging: Paging) -> list[int]:
        viewer = await self.viewer(reader)
        self.database.reads.clear()
        found = await self.history.private(viewer, PrivateHistory(other, paging))
        return [message.id for message, _ in found]

    async def read_group(self, reader: int, group_id: int, paging: Paging) -> list[int]:
        viewer = await self.viewer(reader)
        self.database.reads.clear()
        found = await self.history.group(viewer, GroupHistory(group_id, paging))
        return [message.id for message, _ in found]

    async def refused(self, reading: Any, error: type[SocialHubError]) -> SocialHubError:
        try:
            await reading
        except error as raised:
            return raised
        raise AssertionError(f"{error.__name__} expected")

    async def test_private_page_after_the_user_check(self) -> None:
        """Either side reads the conversation newest first: the user check, the page, then
        the page's reactions."""
        await self.start()
        ids = await self.send(3, recipient_id=self.bob)
        self.assertEqual(
            await self.read_private(self.bob, self.alice, HistoryPage(limit=2)), ids[:2]
        )
        self.assertEqual(self.database.reads, ["get_user", "message_history", "message_reactions"])
        older = await self.read_private(self.alice, self.bob, HistoryPage(limit=50, before=ids[0]))
        self.assertEqual(older, ids[1:])

    async def test_unknown_user_comes_first(self) -> None:
        """An unknown user, with whom nothing was exchanged (as with a deleted account), is
        404, also with a bad paging field; the page is never read."""
        await self.start()
        for paging in (HistoryPage(limit=50), BAD_PAGING):
            await self.refused(self.read_private(self.alice, UNKNOWN, paging), NotFound)
            self.assertEqual(self.database.reads, ["get_user", "conversation_exists"])

    async def test_bad_paging_after_the_user_check(self) -> None:
        """A bad paging field is refused once the user is found, without reading the page."""
        await self.start()
        raised = await self.refused(
            self.read_private(self.alice, self.bob, BAD_PAGING), InvalidRequest
        )
        self.assertIs(raised, BAD_PAGING)
        self.assertEqual(self.database.reads, ["get_user"])

    async def test_group_page_for_members(self) -> None:
        """The owner and an accepted member read the page: the membership check, then it and
        its reactions."""
        await self.start()
        ids = await self.send(3, group_id=self.group_id)
        self.assertEqual(
            await self.read_group(self.bob, self.group_id, HistoryPage(limit=2)), ids[:2]
        )
        self.assertEqual(self.database.reads, ["get_group", "message_history", "message_reactions"])
        self.assertEqual(
            await self.read_group(self.alice, self.group_id, HistoryPage(limit=50, offset=1)),
            ids[1:],
        )

    async def test_group_refusals_come_first(self) -> None:
        """An unknown group is 404, an invitee or an outsider 403, also with a bad paging field;
        a member's bad field is 400 after the check. The page is never read."""
        await self.start()
        cases = [
            (self.alice, UNKNOWN, NotFound),
            (self.carol, self.group_id, Forbidden),
            (self.dave, self.group_id, Forbidden),
        ]
        for reader, group_id, error in cases:
            for paging in (HistoryPage(limit=50), BAD_PAGING):
                await self.refused(self.read_group(reader, group_id, paging), error)
                self.assertEqual(self.database.reads, ["get_group"])
        await self.refused(self.read_group(self.bob, self.group_id, BAD_PAGING), InvalidRequest)
        self.assertEqual(self.database.reads, ["get_group"])


class HistorySqliteTests(SqliteEngine, HistoryTests, TestCase):
    pass


class HistoryPostgresTests(PostgresEngine, HistoryTests, TestCase):
    pass
