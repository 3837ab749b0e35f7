"""Subscriptions on an in-process bus: a user's channel while they are connected here, a group's
channel while one of its members is, the broadcast and tick channels always."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from socialhub.bus.local import LocalBus, LocalHub
from socialhub.delivery.channels import BROADCAST, TICKS, USERS, group_channel, user_channel
from socialhub.delivery.subscriptions import Subscriptions


class SubscriptionsTests(TestCase):
    def setUp(self) -> None:
        self.hub = LocalHub()
        self.groups: dict[int, list[int]] = {1: [10, 11], 2: [10]}
        self.subscriptions = Subscriptions(LocalBus(self.hub), self._group_ids_of)

    async def _group_ids_of(self, user_id: int) -> list[int]:
        return list(self.groups.get(user_id, []))

    def channels(self) -> set[bytes]:
        return set(self.hub.subscribers)

    async def test_a_group_channel_lasts_while_a_member_is_connected(self) -> None:
        """Two members share group 10's channel; it goes with the last of them, each user's own
        channel with that user."""
        self.subscriptions.start()
        await self.subscriptions.user_connected(1)
        await self.subscriptions.user_connected(2)
        everyone = {BROADCAST, TICKS, USERS, user_channel(1), user_channel(2)}
        groups = {group_channel(10), group_channel(11)}
        self.assertEqual(self.channels(), everyone | groups)
        self.subscriptions.user_gone(1)
        self.assertEqual(
            self.channels(), {BROADCAST, TICKS, USERS, user_channel(2), group_channel(10)}
        )
        self.subscriptions.user_gone(2)
        self.assertEqual(self.channels(), {BROADCAST, TICKS, USERS})

    async def test_membership_changes_follow_connected_users_only(self) -> None:
        """Joining subscribes the group's channel for a connected user, leaving unsubscribes
        it; a user with no connection here changes nothing."""
        await self.subscriptions.user_connected(2)
        self.subscriptions.membership_changed(2, 12, joined=True)
        self.subscriptions.membership_changed(3, 13, joined=True)
        self.assertEqual(self.channels(), {user_channel(2), group_channel(10), group_channel(12)})
        self.subscriptions.membership_changed(2, 10, joined=False)
        self.assertEqual(self.channels(), {user_channel(2), group_channel(12)})

    async def test_refresh_groups_follows_the_database(self) -> None:
        """Changes the bus never brought (it was away) are read back: user 1 left group 11 and
        joined group 12 meanwhile."""
        await self.subscriptions.user_connected(1)
        self.groups[1] = [10, 12]
        await self.subscriptions.refresh_groups()
        self.assertEqual(self.channels(), {user_channel(1), group_channel(10), group_channel(12)})
