"""Tests of socialhub/storage/: the database layer, its migrations and its query plans."""
