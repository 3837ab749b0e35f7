"""Tests of socialhub/http/rest/: what the routes read from a request before a handler runs."""
