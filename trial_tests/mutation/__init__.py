"""Mutation testing of the authorization rules beyond what mutmut mutates (docs/testing.md)."""
