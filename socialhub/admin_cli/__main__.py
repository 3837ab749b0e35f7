"""`python -m socialhub.admin_cli`: the same as the `socialhub-admin` console script."""

from socialhub.admin_cli.main import main

main()
