"""The email channel: the SMTP transport and the worker that sends the outbox's email rows.

Same rules as `bot/`: imports `knowledge` (and `index` types), never `admin` or `bot`.
"""
