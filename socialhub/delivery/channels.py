"""The bus channels delivery uses: one per user, one per group, the broadcast, the ticks, and
the one for frames to a list of users (presence: one publish for a whole audience)."""

from __future__ import annotations

BROADCAST = b"socialhub:broadcast"
TICKS = b"socialhub:ticks"
USERS = b"socialhub:users"


def user_channel(user_id: int) -> bytes:
    return b"socialhub:u:%d" % user_id


def group_channel(group_id: int) -> bytes:
    return b"socialhub:g:%d" % group_id


def channel_id(channel: bytes) -> int:
    """The user or group id a user's or group's channel is named after."""
    return int(channel.rsplit(b":", 1)[1])


def claim_key(key: str) -> bytes:
    """The bus's name of a claim (Delivery.claim)."""
    return b"socialhub:claim:" + key.encode()
