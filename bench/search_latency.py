"""Query latency from text to ranked entries at 1k, 10k and 100k entries, and peak memory.

Each index size is measured in its own child process (so its peak RSS is a searching
process's own) on a temporary SQLite database that another child filled with synthetic entries
and random unit vectors; the queries are real French queries of the development set and go
through the real default embedder. Wall-clock latency is what a user waits on this machine;
the process CPU time per query is reported too, because on a shared machine the wall clock
mostly measures the other processes (CPU time is an upper bound of the latency on an idle
machine: the work is CPU-bound and runs on at most the machine's cores).

    python bench/search_latency.py [--sizes 1000,10000,100000] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import ms, percentile


def populate(url: str, size: int) -> None:
    """Create the database and fill it with `size` synthetic entries and vectors."""
    from index.embedders import E5_SMALL_INT4
    from knowledge.store import migrate
    from knowledge.store.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    benchlib.populate_synthetic(engine, count=size, model_id=E5_SMALL_INT4, dim=384)
    engine.dispose()


def measure(url: str, folder: Path, size: int, n_queries: int) -> dict[str, float]:
    """Measure one index size in this process; return latencies in seconds and RSS in MiB."""
    from index.embedders import make_embedder
    from index.store import VectorStore
    from knowledge.retrieval.embeddings import stored_vectors
    from knowledge.runtime import Knowledge
    from knowledge.store.db import make_session_factory

    queries = benchlib.devset_queries()[:n_queries]
    embedder = make_embedder("e5-small-int4")
    knowledge = Knowledge.from_url(url, embedder_factory=lambda: embedder,
                                   index_dir=folder / "index")
    try:
        started = time.perf_counter()
        knowledge.similar(queries[0], k=5, min_score=-1.0)  # loads or builds the index
        first = time.perf_counter() - started
        embedder.embed_queries(queries[:20])  # warm the model's code paths

        whole: list[float] = []
        whole_cpu: list[float] = []
        for query in queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            result = knowledge.similar(query, k=5, min_score=-1.0)
            whole.append(time.perf_counter() - started)
            whole_cpu.append(time.process_time() - started_cpu)
            assert len(result.hits) == 5

        embed: list[float] = []
        vectors = []
        for query in queries:
            started = time.perf_counter()
            vector = embedder.embed_queries([query])
            embed.append(time.perf_counter() - started)
            vectors.append(vector)

        # Peak RSS of a searching process: taken before the extra store below.
        rss_mb = benchlib.peak_rss_mb()
        with make_session_factory(knowledge.engine)() as session:
            ids, stored = stored_vectors(session=session, model_id=embedder.model_id,
                                         dim=embedder.dim)
        store = VectorStore(model_id=embedder.model_id, dim=embedder.dim)
        store.upsert(ids, stored)
        search: list[float] = []
        search_cpu: list[float] = []
        for _ in range(5):
            for vector in vectors:
                started, started_cpu = time.perf_counter(), time.process_time()
                store.search(vector, 5)
                search.append(time.perf_counter() - started)
                search_cpu.append(time.process_time() - started_cpu)
    finally:
        knowledge.close()
    return {
        "size": size, "first": first,
        "whole_p50": percentile(whole, 0.5), "whole_p95": percentile(whole, 0.95),
        "embed_p50": percentile(embed, 0.5), "embed_p95": percentile(embed, 0.95),
        "search_p50": percentile(search, 0.5), "search_p95": percentile(search, 0.95),
        "whole_cpu_p50": percentile(whole_cpu, 0.5), "whole_cpu_p95": percentile(whole_cpu, 0.95),
        "search_cpu_p50": percentile(search_cpu, 0.5),
        "search_cpu_p95": percentile(search_cpu, 0.95),
        "n_queries": len(whole), "rss_mb": rss_mb,
    }


def _child(step: str, url: str, folder: Path, size: int, n_queries: int) -> str:
    command = [sys.executable, __file__, "--child", step, "--url", url, "--folder", str(folder),
               "--sizes", str(size), "--queries", str(n_queries)]
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.exit(f"{step} at {size} failed:\n{child.stderr}")
    return child.stdout


def main() -> None:
    """Run every size in child processes and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=100, help="dev-set queries timed")
    parser.add_argument("--child", choices=["populate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "populate":
        populate(args.url, int(args.sizes))
        return
    if args.child == "measure":
        print(json.dumps(measure(args.url, args.folder, int(args.sizes), args.queries)))
        return
    from knowledge.store.db import sqlite_url_for

    benchlib.print_machine()
    rows = []
    for size in (int(part) for part in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="svp-bench-") as name:
            folder = Path(name)
            url = sqlite_url_for(folder / "svp.db")
            _child("populate", url, folder, size, args.queries)
            output = _child("measure", url, folder, size, args.queries)
        result = json.loads(output.strip().splitlines()[-1])
        rows.append([
            f"{size:,}".replace(",", " "), result["n_queries"],
            ms(result["whole_p50"]), ms(result["whole_p95"]),
            ms(result["embed_p50"]), ms(result["embed_p95"]),
            ms(result["search_p50"]), ms(result["search_p95"]),
            ms(result["whole_cpu_p50"]), ms(result["whole_cpu_p95"]),
            ms(result["search_cpu_p50"]), ms(result["search_cpu_p95"]),
            f"{result['first']:.2f}", f"{result['rss_mb']:.0f}",
        ])
    benchlib.print_table(
        ["entries", "queries", "whole p50 ms", "whole p95 ms", "embed p50 ms", "embed p95 ms",
         "search p50 ms", "search p95 ms", "whole CPU p50 ms", "whole CPU p95 ms",
         "search CPU p50 ms", "search CPU p95 ms", "first query s", "peak RSS MiB"],
        rows,
    )


if __name__ == "__main__":
    main()
