"""The bus's wire format: every envelope comes back from its bytes as it was encoded, a process's
messages begin with its origin prefix, and what is not an envelope is refused with ValueError.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from socialhub.delivery.envelopes import (
    CloseEnvelope,
    Envelope,
    FrameEnvelope,
    GroupsEnvelope,
    TickEnvelope,
    decode,
    origin_prefix,
)

ORIGIN = "0123456789abcdef"
EVERY_KIND: list[Envelope] = [
    FrameEnvelope(ORIGIN, 1.5, b'{"type":"broadcast"}'),
    FrameEnvelope(ORIGIN, 1.5, b'{"type":"group"}\n', "p:7", [1, 2, 3], 42),
    CloseEnvelope(ORIGIN, 2.0, [5, 6], 4001, "session revoked"),
    GroupsEnvelope(ORIGIN, 2.5, 9, True),
    GroupsEnvelope(ORIGIN, 2.5, 9, False),
    TickEnvelope(ORIGIN, 3.0, 10, 12),
]


class EnvelopeTests(TestCase):
    def test_each_kind_decodes_to_what_was_encoded(self) -> None:
        """Type and every field survive the round trip, the payload byte for byte (a newline in
        it too)."""
        for envelope in EVERY_KIND:
            self.assertEqual(decode(envelope.encode()), envelope)

    def test_origin_prefix_is_how_its_envelopes_begin(self) -> None:
        """Every envelope a process encodes starts with its origin prefix, and no other
        process's does."""
        for envelope in EVERY_KIND:
            message = envelope.encode()
            self.assertTrue(message.startswith(origin_prefix(ORIGIN)))
            self.assertFalse(message.startswith(origin_prefix("0123456789abcde0")))
            self.assertFalse(message.startswith(origin_prefix("0123456789abcd")))

    def test_what_is_not_an_envelope_is_a_value_error(self) -> None:
        """Bytes that are not JSON, an unknown kind, a missing field or a header that is not an
        object: each is refused with ValueError, which the receiver logs and drops."""
        for message in [
            b"not json\n",
            b'{"origin":"a","kind":"teleport","sent_at":1}\n',
            b'{"origin":"a","kind":"tick","sent_at":1,"first":1}\n',
            b'["origin"]\n',
        ]:
            self.assertRaises(ValueError, decode, message)
