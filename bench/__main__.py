"""`python -m bench`: run the benchmark (see bench/run.py)."""

import sys

from bench.run import main

try:
    main()
except KeyboardInterrupt:  # everything started was stopped on the way out
    print("# interrupted", file=sys.stderr)
    sys.exit(130)
