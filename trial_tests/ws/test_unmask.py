"""ws/unmask.py: the same bytes as Autobahn's own masker, and installed where Autobahn looks."""

from __future__ import annotations

import itertools
import random

from autobahn.websocket import protocol as autobahn_protocol
from twisted.trial.unittest import TestCase

from socialhub.ws import unmask


def chunked(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` split at random places, as TCP reads may split a frame (empty pieces too)."""
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(4)))
    edges = [0, *cuts, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(edges)]


class UnmaskTests(TestCase):
    def test_same_bytes_as_autobahn_however_split(self) -> None:
        """Every size up to past SMALL, random masks and splits: the same output, and the same
        pointer after each piece, as Autobahn's native masker; reset starts over."""
        rng = random.Random(9)
        for size in [*range(0, 70), 127, 128, 500, unmask.SMALL - 1, unmask.SMALL + 5]:
            mask = rng.randbytes(4)
            payload = rng.randbytes(size)
            ours, theirs = unmask.create_xor_masker(mask, size), unmask._autobahns(mask, size)
            for piece in chunked(payload, rng):
                self.assertEqual(ours.process(piece), theirs.process(piece), (size, piece))
                self.assertEqual(ours.pointer(), theirs.pointer())
            ours.reset()
            self.assertEqual(ours.process(payload), unmask._autobahns(mask, size).process(payload))

    def test_small_frames_only(self) -> None:
        """Below SMALL ours; from SMALL on, and with no length, Autobahn's."""
        mask = b"\x01\x02\x03\x04"
        self.assertIsInstance(unmask.create_xor_masker(mask, 100), unmask.SmallMasker)
        self.assertNotIsInstance(unmask.create_xor_masker(mask, unmask.SMALL), unmask.SmallMasker)
        self.assertNotIsInstance(unmask.create_xor_masker(mask), unmask.SmallMasker)

    def test_installed_where_autobahn_looks(self) -> None:
        """install() replaces the name Autobahn's protocol calls for each frame."""
        self.patch(autobahn_protocol, "create_xor_masker", unmask._autobahns)
        unmask.install()
        self.assertIs(autobahn_protocol.create_xor_masker, unmask.create_xor_masker)
