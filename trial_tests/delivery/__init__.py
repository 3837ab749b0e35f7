"""Tests of socialhub/delivery/: fan-out, sequencing, and resuming from a cursor."""
