"""`socialhub-admin`: operators' commands run on the database, without a running server.

Each command goes through the same stores and handlers as the server (so the same rules and
validation apply), on the Twisted reactor for the length of the command. `commands.py` is the
table of commands, `main.py` the argument parsing and exit codes, `wiring.py` the server's
parts opened over the database.
"""
