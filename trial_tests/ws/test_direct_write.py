"""SocketWriter over real loopback TCP: written at once when nothing is queued, otherwise
through Twisted's buffer, in order, with the transport's producer paused as before; while
corked, kept and written in one piece when the cork comes out. (What SocketWriter reads of
Twisted's transports is checked by trial_tests/_compat/test_twisted.py.)"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from socialhub.delivery.cork import Cork
from socialhub.ws.direct_write import SocketWriter
from trial_tests.support.sockets import CHUNK, Producer, counted, loopback


class SocketWriterTests(TestCase):
    async def test_written_at_once_when_nothing_is_queued(self) -> None:
        transport, sink, counting = await counted(self)
        SocketWriter(transport, Cork()).write(b"frame")
        self.assertEqual(counting.sends, [b"frame"])
        self.assertEqual(await sink.wait_for(5), b"frame")

    async def test_queued_bytes_go_first(self) -> None:
        transport, sink, counting = await counted(self)
        transport.write(b"queued ")
        SocketWriter(transport, Cork()).write(b"frame")
        self.assertEqual(counting.sends, [], "behind the transport's queue, not at once")
        self.assertEqual(await sink.wait_for(12), b"queued frame")

    async def test_what_the_kernel_refuses_is_buffered_in_order(self) -> None:
        """A reader that stops reading: the rest of a write and every later write queue in
        Twisted's buffer, whose producer is paused past bufferSize, and all arrive in order."""
        transport, sink = await loopback(self)
        producer = Producer()
        transport.bufferSize = len(CHUNK)
        transport.registerProducer(producer, True)
        reading: Any = sink.transport
        reading.pauseProducing()
        writer = SocketWriter(transport, Cork())
        sent: list[bytes] = []
        while not producer.paused and len(sent) < 1000:  # the kernel holds a few MiB at most
            chunk = b"%08d" % len(sent) + CHUNK
            writer.write(chunk)
            sent.append(chunk)
        self.assertTrue(producer.paused)  # Twisted's buffer holds more than bufferSize
        reading.resumeProducing()
        expected = b"".join(sent)
        self.assertEqual(await sink.wait_for(len(expected)), expected)

    async def test_corked_writes_leave_in_one_send(self) -> None:
        """While corked, a connection's writes are kept (re-entrantly), then sent in one piece
        when the outermost cork comes out."""
        transport, sink, counting = await counted(self)
        cork = Cork()
        writer = SocketWriter(transport, cork)
        with cork:
            writer.write(b"one ")
            with cork:
                writer.write(b"two ")
            writer.write(b"three")
            self.assertEqual(counting.sends, [])
        self.assertEqual(counting.sends, [b"one two three"])
        self.assertEqual(await sink.wait_for(13), b"one two three")

    async def test_flush_keeps_order_with_transport_writes(self) -> None:
        """Bytes written to the transport directly (as Autobahn's close frame is) after a
        `flush` come after what was kept before it, and before what is written after it."""
        transport, sink, counting = await counted(self)
        cork = Cork()
        writer = SocketWriter(transport, cork)
        with cork:
            writer.write(b"kept ")
            writer.flush()
            transport.write(b"close ")
            writer.write(b"after")
        self.assertEqual(await sink.wait_for(16), b"kept close after")
        self.assertEqual(counting.sends[0], b"kept ")

    async def test_uncorked_when_the_body_raises(self) -> None:
        """An exception inside the corked block still sends what was kept, and later writes
        go out at once again."""
        transport, sink, counting = await counted(self)
        cork = Cork()
        writer = SocketWriter(transport, cork)
        with self.assertRaises(ValueError), cork:
            writer.write(b"kept")
            raise ValueError("the batch loop failed")
        self.assertFalse(cork.corked)
        writer.write(b" later")
        self.assertEqual(counting.sends, [b"kept", b" later"])
        self.assertEqual(await sink.wait_for(10), b"kept later")
