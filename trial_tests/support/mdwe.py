"""`python -m trial_tests.support.mdwe ARGS...`: run `python ARGS...` with memory that is both
writable and executable refused (Linux's prctl PR_SET_MDWE, 6.3 and later), the rule systemd's
MemoryDenyWriteExecute= applies. The setting survives execve, so it holds for the server.
"""

from __future__ import annotations

import ctypes
import os
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def deny_write_execute() -> None:
    """Refuse W+X memory from now on in this process and its children; OSError if unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "prctl(PR_SET_MDWE): " + os.strerror(errno))


if __name__ == "__main__":
    deny_write_execute()
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
