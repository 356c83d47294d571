"""A CCH-size DILA LEGI global dump and one daily increment, to measure their import.

The archives have the published layout and XML schema (tests/legi_archives.py): a synthetic
Code de la construction et de l'habitation of `--articles` article versions, then a day
amending 150 articles and repealing 10. Printed: each archive's files, sizes and build time.

    python bench/legi_corpus.py OUTDIR [--articles 12000] [--stamp 20250713-140000]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from datetime import timedelta
from pathlib import Path

import benchlib

sys.path.insert(0, str(benchlib.ROOT / "tests"))  # the archive builder is the tests' own


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.2f}"


def _unpacked_size(archive: Path) -> int:
    """The size of the tar inside the gzip, read through (gzip's trailer is modulo 2³²)."""
    total = 0
    with gzip.open(archive, "rb") as tar:
        while chunk := tar.read(1 << 20):
            total += len(chunk)
    return total


def main() -> None:
    """Write the global dump and the next day's increment into OUTDIR, print a table."""
    import legi_archives as la

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--articles", type=int, default=12_000)
    parser.add_argument("--stamp", default="20250713-140000", help="the global dump's stamp")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    next_day = la.stamp_time(args.stamp) + timedelta(days=1)
    increment_stamp = next_day.replace(hour=21, minute=30, second=0).strftime("%Y%m%d-%H%M%S")

    benchlib.print_machine()
    started = time.perf_counter()
    corpus = la.cch_sized_corpus(articles=args.articles)
    increment = la.daily_increment_for(corpus, stamp=increment_stamp)
    generated = time.perf_counter() - started
    rows = []
    for name, articles, write in (
            ("global", corpus, lambda: la.write_global(args.outdir, articles=corpus,
                                                       stamp=args.stamp)),
            ("increment", increment, lambda: la.write_increment(
                args.outdir, articles=increment, stamp=increment_stamp))):
        started = time.perf_counter()
        archive = write()
        seconds = time.perf_counter() - started
        rows.append([archive.name, name, f"{len(articles):,}".replace(",", " "),
                     f"{len({(a.cid, a.num) for a in articles}):,}".replace(",", " "),
                     _mib(archive.stat().st_size), _mib(_unpacked_size(archive)),
                     f"{seconds:.2f}"])
    print(f"corpus and increment generated in {generated:.2f} s")
    benchlib.print_table(["archive", "kind", "article files", "numbers", "tar.gz MiB",
                          "tar MiB", "write s"], rows)


if __name__ == "__main__":
    main()
