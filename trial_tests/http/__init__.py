"""Tests of socialhub/http/: the conventions every route follows."""
