"""Import throughput of the demo knowledge base as a ratio to the raw embedder throughput.

The raw throughput is `embed_passages` on exactly the texts the import embeds (question and
answer of each entry), in the import's batch size. The import is the real `import_file` into a
temporary SQLite database with the real default embedder, committed. Both are run alternately
(raw, import, raw) and the raw figure is the mean of its two runs, because the machine is
shared and its speed drifts; process CPU times are reported too, as they suffer less from the
other processes of a shared machine.

    python bench/import_throughput.py [--repeat 1] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import benchlib


def demo_file(folder: Path, repeat: int, limit: int | None) -> tuple[Path, list[str]]:
    """Write the demo base `repeat` times (ids and questions made distinct); return its texts."""
    from knowledge.retrieval.embeddings import passage_text

    with benchlib.DEMO_DATA.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()][:limit]
    path = folder / "demo.jsonl"
    texts = []
    with path.open("w", encoding="utf-8") as out:
        for copy in range(repeat):
            for record in records:
                if copy:
                    record = {**record, "id": f"{record['id']}-{copy}",
                              "question": f"{record['question']} ({copy})"}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                texts.append(passage_text(record["question"].strip(), record["answer"].strip()))
    return path, texts


def raw_seconds(embedder: object, texts: list[str], batch: int) -> tuple[float, float]:
    """Time `embed_passages` over the texts in batches: (wall-clock, process CPU) seconds."""
    started, started_cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        embedder.embed_passages(texts[start:start + batch])  # type: ignore[attr-defined]
    return time.perf_counter() - started, time.process_time() - started_cpu


def main() -> None:
    """Measure and print one table."""
    from index.embedders import make_embedder
    from knowledge.catalog.importing import EMBED_BATCH_SIZE, import_file
    from knowledge.runtime import Knowledge
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, sqlite_url_for

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="copies of the demo base")
    parser.add_argument("--limit", type=int, default=None, help="first N demo entries only")
    args = parser.parse_args()
    benchlib.print_machine()
    embedder = make_embedder("e5-small-int4")
    embedder.embed_passages(["passage de chauffe"])
    with tempfile.TemporaryDirectory(prefix="svp-bench-") as name:
        folder = Path(name)
        path, texts = demo_file(folder, args.repeat, args.limit)
        raw_before, raw_cpu_before = raw_seconds(embedder, texts, EMBED_BATCH_SIZE)

        url = sqlite_url_for(folder / "svp.db")
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        knowledge = Knowledge.from_url(url, embedder_factory=lambda: embedder,
                                       index_dir=folder / "index")
        try:
            started, started_cpu = time.perf_counter(), time.process_time()
            with knowledge.session() as session:
                report = import_file(session=session, path=path, embedder=embedder)
            import_seconds = time.perf_counter() - started
            import_cpu = time.process_time() - started_cpu
        finally:
            knowledge.close()
        raw_after, raw_cpu_after = raw_seconds(embedder, texts, EMBED_BATCH_SIZE)

        # The import's own work (validation, rows, revisions, log) without the model: the part
        # of the import that is not embedding, measured apart from the machine's drift.
        bare_url = sqlite_url_for(folder / "bare.db")
        engine = make_engine(bare_url)
        migrate.upgrade(engine)
        engine.dispose()
        bare = Knowledge.from_url(bare_url, embedder_factory=lambda: embedder,
                                  index_dir=folder / "bare-index")
        try:
            started = time.perf_counter()
            with bare.session() as session:
                import_file(session=session, path=path, embedder=None)
            bare_seconds = time.perf_counter() - started
        finally:
            bare.close()

    count = len(texts)
    assert report.created == count, f"created {report.created} of {count}"
    raw = (raw_before + raw_after) / 2
    raw_cpu = (raw_cpu_before + raw_cpu_after) / 2
    benchlib.print_table(
        ["entries", "raw embed s", "raw entries/s", "import s", "import entries/s",
         "import / raw", "raw CPU s", "import CPU s", "import / raw (CPU)",
         "import without embedding s", "raw / (raw + that)", "peak RSS MiB"],
        [[count, f"{raw:.1f} ({raw_before:.1f} / {raw_after:.1f})", f"{count / raw:.2f}",
          f"{import_seconds:.1f}", f"{count / import_seconds:.2f}",
          f"{raw / import_seconds:.1%}",
          f"{raw_cpu:.1f} ({raw_cpu_before:.1f} / {raw_cpu_after:.1f})", f"{import_cpu:.1f}",
          f"{raw_cpu / import_cpu:.1%}", f"{bare_seconds:.2f}",
          f"{raw / (raw + bare_seconds):.1%}", f"{benchlib.peak_rss_mb():.0f}"]],
    )


if __name__ == "__main__":
    main()
