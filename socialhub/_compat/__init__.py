"""Every piece of code that reads or overrides a library's private internals, one module per
library. Each has a test (trial_tests/_compat/test_<library>.py) that fails when what it relies
on moves, and setup.py pins each library to the releases those tests have run against."""
