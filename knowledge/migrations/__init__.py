"""Alembic migrations of the SVP database (SQLite in batch mode and PostgreSQL)."""
