"""Cost of the best passage per suggestion: query latency with and without, and storage.

A temporary SQLite database gets `--size` entries (10,000 by default) whose answers are the real
demo answers (service-public.fr, 157 pages, cycled), each with random unit vectors for its text,
its question and every passage (cut as the application cuts them), inserted in bulk. In a child
process the real default embedder then runs the development-set queries through
`Knowledge.similar(k=5)`, alternately with and without passages (embedding of the query
included, as a user waits for it), and reports p50 / p95 of both; CPU time is reported too
because on a shared machine the wall clock mostly measures the other processes. Storage is the
growth of the database file when the passages are written, per 1,000 entries.

    python bench/passage_latency.py [--size 10000] [--queries 100]
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

DEMO = benchlib.ROOT / "knowledge" / "data" / "demo-kb.jsonl"
DIM = 384


def populate(url: str, size: int, folder: Path) -> dict[str, float]:
    """Fill the database with entries, their vectors and passages; return storage figures."""
    import numpy as np
    from sqlalchemy import insert

    from index.embedders import E5_SMALL_INT4
    from knowledge.retrieval import passages
    from knowledge.retrieval.embeddings import (
        UPSERT,
        EntryEmbedding,
        log_changes,
        passage_text,
        text_hash,
        vector_bytes,
    )
    from knowledge.retrieval.search import FrenchAnalyzer
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, make_session_factory
    from knowledge.store.models import EntryStatus, KnowledgeEntry
    from knowledge.text import question_hash
    from knowledge.timeutil import utcnow

    demo = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    analyzer = FrenchAnalyzer()
    # The demo answers are cut and analysed once; entries reuse them in turn.
    cut = [(row["answer"], passages.split(row["question"], row["answer"]))
           for row in demo]
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    rng = np.random.default_rng(0)
    now = utcnow()
    database = folder / "svp.db"
    passage_rows = 0
    entries_bytes = passages_bytes = 0.0
    for start in range(0, size, 1000):
        stop = min(start + 1000, size)
        rows, vectors, rows_passages = [], [], []
        for number in range(start + 1, stop + 1):
            answer, spans = cut[number % len(cut)]
            question = f"Question synthétique {number} : {demo[number % len(demo)]['question']}"
            spans = [passages.Span(0, 0, len(question)), *spans[1:]]
            text = passage_text(question, answer)
            digest = text_hash(text)
            rows.append({
                "id": number, "external_id": f"S{number}", "question": question,
                "answer": answer, "theme": "Synthétique", "tags": [], "legal_references": [],
                "source": None, "status": EntryStatus.ACTIVE.value,
                "question_hash": question_hash(question), "revision": 1,
                "created_by": "bench", "created_at": now, "updated_at": now})
            unit = rng.standard_normal((2 + len(spans), DIM)).astype(np.float32)
            unit /= np.linalg.norm(unit, axis=1, keepdims=True)
            vectors.append({"entry_id": number, "model_id": E5_SMALL_INT4, "dim": DIM,
                            "vector": vector_bytes(unit[0]),
                            "question_vector": vector_bytes(unit[1]), "text_hash": digest,
                            "terms": analyzer.terms(text), "updated_at": now})
            rows_passages += [{"entry_id": number, "position": span.position,
                               "start": span.start, "end": span.end,
                               "model_id": E5_SMALL_INT4, "dim": DIM,
                               "vector": vector_bytes(unit[2 + index]), "text_hash": digest,
                               "updated_at": now}
                              for index, span in enumerate(spans)]
        before = _size(database)
        with factory.begin() as session:
            session.execute(insert(KnowledgeEntry), rows)
            session.execute(insert(EntryEmbedding), vectors)
            log_changes(session=session, entry_ids=list(range(start + 1, stop + 1)),
                        op=UPSERT)
        middle = _size(database)
        with factory.begin() as session:
            session.execute(insert(passages.EntryPassage), rows_passages)
        entries_bytes += middle - before
        passages_bytes += _size(database) - middle
        passage_rows += len(rows_passages)
    engine.dispose()
    return {"passage_rows": passage_rows, "passages_mb_per_1000": passages_bytes / size
            / 1024 / 1024 * 1000, "entries_mb_per_1000": entries_bytes / size / 1024 / 1024
            * 1000}


def _size(database: Path) -> float:
    # The WAL holds what is not yet checkpointed: count both.
    wal = database.with_name(database.name + "-wal")
    return float(database.stat().st_size + (wal.stat().st_size if wal.exists() else 0))


def measure(url: str, folder: Path, n_queries: int) -> dict[str, float]:
    """Time the queries with and without passages, interleaved; return seconds."""
    from index.embedders import make_embedder
    from knowledge.runtime import Knowledge

    queries = benchlib.devset_queries()[:n_queries]
    embedder = make_embedder("e5-small-int4")
    knowledge = Knowledge.from_url(url, embedder_factory=lambda: embedder,
                                   index_dir=folder / "index")
    timings: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    shown = 0
    try:
        knowledge.similar(queries[0], k=5, min_score=-1.0)  # loads or builds the index
        embedder.embed_queries(queries[:20])  # warm the model's code paths
        for number, query in enumerate(queries):
            # Alternate which goes first, so neither always finds warm caches.
            order = (True, False) if number % 2 else (False, True)
            for with_passages in order:
                started, started_cpu = time.perf_counter(), time.process_time()
                result = knowledge.similar(query, k=5, min_score=-1.0,
                                           passages=with_passages)
                timings[with_passages].append(time.perf_counter() - started)
                cpu[with_passages].append(time.process_time() - started_cpu)
                assert len(result.hits) == 5
                if with_passages:
                    shown += sum(hit.passage is not None for hit in result.hits)
    finally:
        knowledge.close()
    figures: dict[str, float] = {"n_queries": len(queries), "shown": shown}
    for with_passages, label in ((False, "without"), (True, "with")):
        for values, suffix in ((timings[with_passages], ""), (cpu[with_passages], "_cpu")):
            figures[f"{label}_p50{suffix}"] = percentile(values, 0.5)
            figures[f"{label}_p95{suffix}"] = percentile(values, 0.95)
    return figures


def _child(step: str, url: str, folder: Path, size: int, n_queries: int) -> str:
    command = [sys.executable, __file__, "--child", step, "--url", url, "--folder", str(folder),
               "--size", str(size), "--queries", str(n_queries)]
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.exit(f"{step} failed:\n{child.stderr}")
    return child.stdout.strip().splitlines()[-1]


def main() -> None:
    """Populate, measure in a child process, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100, help="dev-set queries timed")
    parser.add_argument("--child", choices=["populate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "populate":
        print(json.dumps(populate(args.url, args.size, args.folder)))
        return
    if args.child == "measure":
        print(json.dumps(measure(args.url, args.folder, args.queries)))
        return
    from knowledge.store.db import sqlite_url_for

    benchlib.print_machine()
    with tempfile.TemporaryDirectory(prefix="svp-bench-") as name:
        folder = Path(name)
        url = sqlite_url_for(folder / "svp.db")
        storage = json.loads(_child("populate", url, folder, args.size, args.queries))
        result = json.loads(_child("measure", url, folder, args.size, args.queries))
    rows = [[label, result["n_queries"], ms(result[f"{key}_p50"]), ms(result[f"{key}_p95"]),
             ms(result[f"{key}_p50_cpu"]), ms(result[f"{key}_p95_cpu"])]
            for label, key in (("without passages", "without"), ("with passages", "with"))]
    benchlib.print_table(["search (k=5, embedding included)", "queries", "p50 ms", "p95 ms",
                          "CPU p50 ms", "CPU p95 ms"], rows)
    print(f"p50 ratio with / without: {result['with_p50'] / result['without_p50']:.2f} "
          f"(CPU {result['with_p50_cpu'] / result['without_p50_cpu']:.2f}); passages shown: "
          f"{result['shown']} of {5 * result['n_queries']}")
    print(f"{args.size} entries, {storage['passage_rows']} passages "
          f"({storage['passage_rows'] / args.size:.1f} per entry): passages "
          f"{storage['passages_mb_per_1000']:.2f} MiB per 1,000 entries (entries and their "
          f"vectors: {storage['entries_mb_per_1000']:.2f} MiB)")


if __name__ == "__main__":
    main()
