"""The load generator: one process (`python -m bench.loadgen SPEC`) per measurement.

It drives one server with picows clients (HTTP readers use aiohttp), reads the server's CPU
time and memory from /proc around its measuring window, and prints one JSON line of results.
"""
