"""Create and upgrade the database schema with the Alembic migrations shipped in the package."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from knowledge.store.db import is_sqlite

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head", *, secret_keys: Sequence[str] = ()) -> None:
    """Upgrade the schema to a revision (the newest by default); idempotent.

    `secret_keys` (the sealing key first) let migration 0014 encrypt the TOTP secrets stored
    in clear; without them it refuses when there are some, and nothing changes.
    """
    config = _config(engine)
    before = current_revision(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["secret_keys"] = tuple(secret_keys)
        command.upgrade(config, revision)
    if is_sqlite(engine) and current_revision(engine) != before:
        _fold_wal(engine)
    logger.info("database upgraded to %s", revision)


def downgrade(engine: Engine, revision: str, *, secret_keys: Sequence[str] = ()) -> None:
    """Downgrade the schema to a revision (`-1` for one step, `base` for empty).

    Below 0014 the TOTP secrets go back to clear, which needs `secret_keys` when there are some.
    """
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["secret_keys"] = tuple(secret_keys)
        command.downgrade(config, revision)
    logger.info("database downgraded to %s", revision)


def _fold_wal(engine: Engine) -> None:
    """Copy the WAL into the SQLite file and empty it, with what a migration rewrote."""
    # Until a checkpoint, the pages a migration replaced (secrets in clear before 0014) stay
    # in the file and in old WAL frames; the last connection to close would fold them, but a
    # server keeps its connections open for weeks.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None when it was never initialised."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest revision shipped with the code."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def is_up_to_date(engine: Engine) -> bool:
    """Tell whether the database schema is at the code's newest revision."""
    return current_revision(engine) == head_revision()
