"""Tests of socialhub/admin_cli/: the socialhub-admin commands, run as processes."""
