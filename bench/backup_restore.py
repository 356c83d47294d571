"""Backup and restore of a database of 10,000 entries with their vectors, SQLite and PostgreSQL.

The database is filled in bulk with synthetic entries and random unit vectors (no embedding:
neither a backup nor a restore embeds anything). Measured, median of `--repeat` runs:
`backup.create` (dump, checksum, archive written aside and synced), `backup.verify` (the whole
archive read back and its SHA-256 checked), `backup.restore` into an empty database (checks,
then file rename or one PostgreSQL transaction, then the row counts compared), and the index
rebuild from the restored vectors that `svp backup restore` runs last.

    python bench/backup_restore.py [--entries 10000] [--repeat 3]
                                   [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL rows need a server (`--database-url`, default SVP_TEST_DATABASE_URL): the script
creates its scratch databases there and drops them afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import benchlib
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from index.embedders import E5_SMALL_INT4, Embedder, Vectors

DIM = 384  # multilingual-e5-small


class _RefusingEmbedder:
    """Has the default model's id and dimension, and fails if asked to embed anything."""

    model_id = E5_SMALL_INT4
    dim = DIM

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Refuse: a restore must not embed."""
        raise AssertionError("a restore must not embed")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Refuse: a restore must not embed."""
        raise AssertionError("a restore must not embed")


def _no_embedding() -> Embedder:
    return _RefusingEmbedder()


class Databases:
    """Makes empty databases of one kind: SQLite files, or scratch PostgreSQL databases."""

    def __init__(self, folder: Path, server_url: str | None) -> None:
        self.folder = folder
        self.server = make_url(server_url) if server_url else None
        self.made: list[str] = []

    @contextmanager
    def _admin(self) -> Iterator[Connection]:
        assert self.server is not None
        engine = create_engine(self.server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def empty(self) -> str:
        """The URL of a new database with no schema."""
        name = f"svp_bench_{uuid.uuid4().hex[:10]}"
        if self.server is None:
            return f"sqlite+pysqlite:///{self.folder / (name + '.db')}"
        with self._admin() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop the scratch PostgreSQL databases."""
        if self.server is None:
            return
        with self._admin() as connection:
            for name in self.made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def measure(databases: Databases, entries: int, repeat: int) -> dict[str, float]:
    """Fill a database, then back it up and restore it `repeat` times; medians in seconds."""
    from knowledge.runtime import Knowledge
    from knowledge.store import backup, migrate
    from knowledge.store.db import make_engine

    source = databases.empty()
    engine = make_engine(source)
    migrate.upgrade(engine)
    benchlib.populate_synthetic(engine, count=entries, model_id=E5_SMALL_INT4, dim=DIM)
    engine.dispose()
    times: dict[str, list[float]] = {"create": [], "verify": [], "restore": [], "rebuild": []}
    size = 0
    for run in range(repeat):
        folder = databases.folder / f"run{run}"
        started = time.perf_counter()
        archive = backup.create(database_url=source, backup_dir=folder / "backups")
        times["create"].append(time.perf_counter() - started)
        size = archive.size
        started = time.perf_counter()
        backup.verify(path=archive.path)
        times["verify"].append(time.perf_counter() - started)
        target = databases.empty()
        started = time.perf_counter()
        report = backup.restore(path=archive.path, database_url=target)
        times["restore"].append(time.perf_counter() - started)
        assert report.counts["entries"] == entries
        knowledge = Knowledge.from_url(target, embedder_factory=_no_embedding,
                                       index_dir=folder / "index")
        try:
            started = time.perf_counter()
            rebuilt = knowledge.rebuild_index()
            times["rebuild"].append(time.perf_counter() - started)
        finally:
            knowledge.close()
        assert rebuilt == entries
    medians = {step: benchlib.median(values) for step, values in times.items()}
    medians["size_mib"] = size / (1 << 20)
    return medians


def main() -> None:
    """Measure SQLite, and PostgreSQL when a server is given; print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("SVP_TEST_DATABASE_URL"),
                        help="a PostgreSQL server URL (scratch databases are made there)")
    args = parser.parse_args()
    benchlib.print_machine()
    columns: dict[str, dict[str, float]] = {}
    for label, server in (("SQLite", None), ("PostgreSQL", args.database_url)):
        if label == "PostgreSQL" and not server:
            print("PostgreSQL: no server given (--database-url), skipped", file=sys.stderr)
            continue
        # The index notes its watermark from a thread of its own, which may still be finishing.
        with tempfile.TemporaryDirectory(prefix="svp-bench-", ignore_cleanup_errors=True) as name:
            databases = Databases(Path(name), server)
            try:
                columns[label] = measure(databases, args.entries, args.repeat)
            finally:
                databases.drop_all()
    steps = [("create", "svp backup create (dump, SHA-256, archive synced) s"),
             ("verify", "svp backup verify (archive read, SHA-256) s"),
             ("restore", "restore into an empty database (checks, load, counts) s"),
             ("rebuild", "index rebuilt from the restored vectors s"),
             ("size_mib", "archive size MiB")]
    rows = [[title, *(f"{columns[label][step]:.2f}" for label in columns)]
            for step, title in steps]
    print(f"{args.entries} entries with their vectors (passage and question), "
          f"median of {args.repeat} runs")
    benchlib.print_table(["step", *columns], rows)


if __name__ == "__main__":
    main()
