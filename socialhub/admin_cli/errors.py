"""The failure a command reports in one line (exit status 1)."""

from __future__ import annotations


class CommandFailed(Exception):
    """The command could not do what it was asked; the message says why, for an operator."""
