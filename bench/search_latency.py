"""Query latency from text to ranked entries at 1k, 10k and 100k entries, and peak memory.

Each index size runs in its own child process (so its peak RSS is its own) on a temporary
SQLite database filled with synthetic entries and random unit vectors; the queries are the
real French queries of the development set and go through the real default embedder.

    python bench/search_latency.py [--sizes 1000,10000,100000] [--passes 2]
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


def measure(size: int, passes: int) -> dict[str, float]:
    """Measure one index size in this process; return latencies in seconds and RSS in MiB."""
    from index.embedders import make_embedder
    from index.store import VectorStore
    from knowledge import migrate
    from knowledge.db import make_engine, make_session_factory, sqlite_url_for
    from knowledge.embeddings import stored_vectors
    from knowledge.runtime import Knowledge

    queries = benchlib.devset_queries()
    embedder = make_embedder("e5-small-int4")
    with tempfile.TemporaryDirectory(prefix="svp-bench-") as folder:
        url = sqlite_url_for(Path(folder) / "svp.db")
        engine = make_engine(url)
        migrate.upgrade(engine)
        benchlib.populate_synthetic(engine, count=size, model_id=embedder.model_id,
                                    dim=embedder.dim)
        engine.dispose()
        knowledge = Knowledge.from_url(url, embedder_factory=lambda: embedder,
                                       index_dir=Path(folder) / "index")
        try:
            started = time.perf_counter()
            knowledge.similar(queries[0], k=5, min_score=-1.0)  # loads or builds the index
            first = time.perf_counter() - started
            embedder.embed_queries(queries[:20])  # warm the model's code paths

            whole: list[float] = []
            for _ in range(passes):
                for query in queries:
                    started = time.perf_counter()
                    result = knowledge.similar(query, k=5, min_score=-1.0)
                    whole.append(time.perf_counter() - started)
                    assert len(result.hits) == 5

            embed: list[float] = []
            vectors = []
            for query in queries:
                started = time.perf_counter()
                vector = embedder.embed_queries([query])
                embed.append(time.perf_counter() - started)
                vectors.append(vector)

            with make_session_factory(knowledge.engine)() as session:
                ids, stored = stored_vectors(session=session, model_id=embedder.model_id,
                                             dim=embedder.dim)
            store = VectorStore(model_id=embedder.model_id, dim=embedder.dim)
            store.upsert(ids, stored)
            search: list[float] = []
            for _ in range(max(passes, 3)):
                for vector in vectors:
                    started = time.perf_counter()
                    store.search(vector, 5)
                    search.append(time.perf_counter() - started)
        finally:
            knowledge.close()
    return {
        "size": size, "first": first,
        "whole_p50": percentile(whole, 0.5), "whole_p95": percentile(whole, 0.95),
        "embed_p50": percentile(embed, 0.5), "embed_p95": percentile(embed, 0.95),
        "search_p50": percentile(search, 0.5), "search_p95": percentile(search, 0.95),
        "n_queries": len(whole), "rss_mb": benchlib.peak_rss_mb(),
    }


def main() -> None:
    """Run every size in a child process and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.passes)))
        return
    benchlib.print_machine()
    rows = []
    for size in (int(part) for part in args.sizes.split(",")):
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--passes", str(args.passes)],
            capture_output=True, text=True, check=False)
        if child.returncode != 0:
            sys.exit(f"size {size} failed:\n{child.stderr}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append([
            f"{size:,}".replace(",", " "), result["n_queries"],
            ms(result["whole_p50"]), ms(result["whole_p95"]),
            ms(result["embed_p50"]), ms(result["embed_p95"]),
            ms(result["search_p50"]), ms(result["search_p95"]),
            f"{result['first']:.2f}", f"{result['rss_mb']:.0f}",
        ])
    benchlib.print_table(
        ["entries", "queries", "whole p50 ms", "whole p95 ms", "embed p50 ms", "embed p95 ms",
         "search p50 ms", "search p95 ms", "first query s", "peak RSS MiB"],
        rows,
    )


if __name__ == "__main__":
    main()
