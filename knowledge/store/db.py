"""Engines, sessions and the declarative base, for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000
PG_CONNECT_TIMEOUT_S = 10


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware.

    SQLite has no time zones; storing naive UTC everywhere keeps both databases identical.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def sqlite_url_for(path: Path) -> str:
    """Return the SQLAlchemy URL of an SQLite file."""
    return f"sqlite+pysqlite:///{path}"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite files get WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # errors end up in logs: no question text, name, e-mail
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            poolclass=NullPool if database in (None, "", ":memory:") else None,
        )
        _install_sqlite_recipe(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_driver_name() == "psycopg":
        # A host that drops packets must fail the CLI in seconds, not hang it.
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args,
                         hide_parameters=True)


def _install_sqlite_recipe(engine: Engine) -> None:
    # Python 3.11's sqlite3 opens transactions itself and too late for writes; SQLAlchemy's
    # documented recipe hands transaction control to us so every unit of work takes the write
    # lock up front (BEGIN IMMEDIATE) instead of failing on lock upgrade under concurrency.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory every edge (CLI, bot, web) opens its units of work with."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Row ids are 32-bit integers on PostgreSQL (`Integer` is int4); a larger number names no row.
MAX_ROW_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    """Tell whether a number can be the id of a row (1 to 2^31-1): larger ones name nothing."""
    return 1 <= value <= MAX_ROW_ID
