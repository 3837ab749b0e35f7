"""twisted.trial tests for socialhub."""
