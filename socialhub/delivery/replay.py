"""What a connection missed: its stored frames after a stream position, read from the database."""

from __future__ import annotations

from typing import Any

from socialhub.delivery.frames import change_frame, message_frame, notification_frame
from socialhub.storage.stores.stream import StreamStore

MAX_REPLAY = 1000


class Replays:
    """Rebuilds the frames a user missed, exactly as they were sent live (less the cursor)."""

    def __init__(self, stream: StreamStore) -> None:
        self._stream = stream

    async def position(self) -> tuple[str, int]:
        return await self._stream.position()

    async def missed(
        self, user_id: int, after: int, up_to: int
    ) -> list[tuple[int, dict[str, Any]]] | None:
        """(position, frame) in stream order, or None when more than MAX_REPLAY were missed."""
        found = await self._stream.missed(user_id, after, up_to, MAX_REPLAY + 1)
        frames = [(m.stream_pos, message_frame(m)) for m in found.messages]
        frames += [(n.stream_pos, notification_frame(n)) for n in found.notifications]
        frames += [(c.stream_pos, change_frame(c)) for c in found.changes]
        if len(frames) > MAX_REPLAY:
            return None
        return sorted(
            ((position, frame) for position, frame in frames if position is not None),
            key=lambda item: item[0],
        )
