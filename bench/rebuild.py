"""Rebuild of the FAISS index from the vectors stored in the database, at 100k entries.

A temporary SQLite database is filled with synthetic entries and random unit vectors (no
embedding involved: a rebuild never re-embeds). Measured: reading the stored vectors, filling
the FAISS store and saving it atomically, one by one; then the whole rebuild as `svp index
rebuild` and a starting process do it (`Knowledge.rebuild_index`). Filling the database, the
steps and the whole rebuild each run in their own child process, so the peak RSS reported is
the rebuild's own.

    python bench/rebuild.py [--sizes 100000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import benchlib

from index.embedders import Embedder, Vectors

DIM = 384  # multilingual-e5-small


def populate(url: str, size: int) -> dict[str, float]:
    """Create and fill the database (in its own process, so its memory is not counted)."""
    from index.embedders import E5_SMALL_INT4
    from knowledge.store import migrate
    from knowledge.store.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    benchlib.populate_synthetic(engine, count=size, model_id=E5_SMALL_INT4, dim=DIM)
    engine.dispose()
    return {"populate": time.perf_counter() - started}


def measure_parts(url: str, folder: Path) -> dict[str, float]:
    """Time the steps of a rebuild one by one: read stored vectors, fill FAISS, save."""
    from index.embedders import E5_SMALL_INT4
    from index.store import VectorStore
    from knowledge.retrieval.embeddings import stored_vectors
    from knowledge.store.db import make_engine, make_session_factory

    engine = make_engine(url)
    started = time.perf_counter()
    with make_session_factory(engine)() as session:
        ids, vectors = stored_vectors(session=session, model_id=E5_SMALL_INT4, dim=DIM)
    read = time.perf_counter() - started
    started = time.perf_counter()
    store = VectorStore(model_id=E5_SMALL_INT4, dim=DIM)
    store.upsert(ids, vectors)
    fill = time.perf_counter() - started
    started = time.perf_counter()
    store.save(folder / "parts")
    save = time.perf_counter() - started
    engine.dispose()
    return {"read": read, "fill": fill, "save": save, "rss_mb": benchlib.peak_rss_mb()}


def measure_whole(url: str, folder: Path) -> dict[str, float]:
    """Time the whole rebuild as a process does it (`Knowledge.rebuild_index`), and its RSS."""
    from knowledge.runtime import Knowledge

    # The embedder is never called by a rebuild: a stand-in that refuses work proves it.
    knowledge = Knowledge.from_url(url, embedder_factory=_no_embedding,
                                   index_dir=folder / "index")
    try:
        started = time.perf_counter()
        rebuilt = knowledge.rebuild_index()
        whole = time.perf_counter() - started
    finally:
        knowledge.close()
    return {"whole": whole, "rebuilt": float(rebuilt), "rss_mb": benchlib.peak_rss_mb()}


class _RefusingEmbedder:
    """Has the default model's id and dimension, and fails if asked to embed anything."""

    model_id = "e5-small-int4"
    dim = DIM

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Refuse: a rebuild must not embed."""
        raise AssertionError("a rebuild must not embed")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Refuse: a rebuild must not embed."""
        raise AssertionError("a rebuild must not embed")


def _no_embedding() -> Embedder:
    return _RefusingEmbedder()


def _empty(url: str) -> None:
    from sqlalchemy import text

    from knowledge.store.db import Base, make_engine

    engine = make_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _child(step: str, url: str, folder: Path, size: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", step, "--url", url, "--folder", str(folder),
               "--sizes", str(size)]
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.exit(f"{step} at {size} failed:\n{child.stderr}")
    result: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run each step of each size in its own child process and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--database-url", default=None,
                        help="an EMPTY migrated PostgreSQL database (emptied afterwards)")
    parser.add_argument("--child", choices=["populate", "parts", "whole"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "populate":
        print(json.dumps(populate(args.url, int(args.sizes))))
        return
    if args.child == "parts":
        print(json.dumps(measure_parts(args.url, args.folder)))
        return
    if args.child == "whole":
        print(json.dumps(measure_whole(args.url, args.folder)))
        return
    from knowledge.store.db import sqlite_url_for

    benchlib.print_machine()
    rows = []
    for size in (int(part) for part in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="svp-bench-") as name:
            folder = Path(name)
            url = args.database_url or sqlite_url_for(folder / "svp.db")
            try:
                _child("populate", url, folder, size)
                parts = _child("parts", url, folder, size)
                whole = _child("whole", url, folder, size)
            finally:
                if args.database_url:
                    _empty(args.database_url)
        assert int(whole["rebuilt"]) == size
        rows.append([f"{size:,}".replace(",", " "), f"{parts['read']:.2f}",
                     f"{parts['fill']:.2f}", f"{parts['save']:.2f}", f"{whole['whole']:.2f}",
                     f"{whole['rss_mb']:.0f}"])
    benchlib.print_table(["entries", "read vectors s", "fill FAISS s", "save s",
                          "whole rebuild s", "peak RSS MiB (whole)"], rows)


if __name__ == "__main__":
    main()
