"""Persistence: one async transaction API over SQLite and PostgreSQL."""
