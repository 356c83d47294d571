"""Regulatory watch: the cost of importing LEGI archives and of flagging the entries they touch.

A synthetic Code de la construction et de l'habitation of `--articles` article files
(`tests/legi_archives.py`, the published layout and XML schema, read by Legilibre's legi.py)
is written as a global dump, then one daily increment (150 articles amended, 10 repealed).
A migrated database (a temporary SQLite file, and a throwaway database on the PostgreSQL
server of `--database-url` when it answers) gets `--entries` active entries, last verified on
1 March 2025, whose reference fields cite ~3,000 distinct articles of that code, 1 to 3
references each, written as people write them ("CCH art. L441-1", "article L. 441-1 du CCH",
ranges "CCH art. L441-1 à L441-3"). Then, each step in a fresh child process (this script's
hidden `child` sub-command) so that its peak RSS (VmHWM) is its own:

- the global dump imported (`legi_import.import_archive`, committed);
- the increment imported, which raises the flags of the entries citing a changed article;
- `flags.refresh` alone, 3 times with the increment's flags deleted first (rolled back after:
  every flag raised again), then 3 times with nothing new to raise; medians;
- the same increment imported again (recognised by its checksum).

    python bench/legal_watch.py [--entries 10000] [--articles 12000] [--range-share 0.1]
                                [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                [--sqlite-only]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import benchlib
from production_throughput import throwaway_database
from sqlalchemy import create_engine, text

sys.path.insert(0, str(benchlib.ROOT / "tests"))  # the archive builder is the tests' own

import legi_archives as la

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHECKED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)  # every entry was last verified then
GLOBAL_STAMP = "20250713-140000"
INCREMENT_STAMP = "20250714-213000"
TODAY = date(2025, 7, 15)
CITED_NUMBERS = 3_000
RANGE_SHARE = 0.1  # of the references, written as a range "L441-1 à L441-3" (default)
REFRESH_RUNS = 3


# Citations ------------------------------------------------------------------------------------

def _spaced(num: str) -> str:
    """"L441-1" as people also write it: "L. 441-1" ("R*441-2" → "R*. 441-2")."""
    head = 2 if num[1] == "*" else 1
    return f"{num[:head]}. {num[head:]}"


SINGLE_FORMS: tuple[Callable[[str], str], ...] = (
    lambda num: f"CCH art. {num}",
    lambda num: f"article {_spaced(num)} du CCH",
    lambda num: f"art. {num} du code de la construction et de l'habitation",
    lambda num: f"CCH, art. {_spaced(num)}",
)
RANGE_FORMS: tuple[Callable[[str, str], str], ...] = (
    lambda first, last: f"CCH art. {first} à {last}",
    lambda first, last: f"articles {_spaced(first)} à {_spaced(last)} du CCH",
)


def _chapter(num: str) -> str:
    return num.split("-", 1)[0]


def cited_blocks(numbers: Sequence[str], *, target: int, rng: random.Random) -> list[list[str]]:
    """Runs of 1 to 3 consecutive articles of one chapter, ~`target` numbers in all."""
    taken: set[int] = set()
    blocks: list[list[str]] = []
    size = 0
    starts = list(range(len(numbers)))
    rng.shuffle(starts)
    for start in starts:
        if size >= target:
            break
        if start in taken:
            continue
        length = rng.choices((1, 2, 3), weights=(70, 15, 15))[0]
        block = [start]
        while len(block) < length:
            following = block[-1] + 1
            if following >= len(numbers) or following in taken \
                    or _chapter(numbers[following]) != _chapter(numbers[start]) \
                    or numbers[following].count("-") != 1:
                break
            block.append(following)
        taken.update(block)
        blocks.append([numbers[index] for index in block])
        size += len(block)
    return blocks


def reference_fields(count: int, numbers: Sequence[str], *, range_share: float,
                     seed: int = 0) -> list[list[str]]:
    """The reference fields of `count` entries: 1 to 3 citations each of ~3,000 articles."""
    rng = random.Random(seed)
    blocks = cited_blocks(numbers, target=CITED_NUMBERS, rng=rng)
    ranged = [block for block in blocks if len(block) > 1]

    def single(num: str) -> str:
        return rng.choice(SINGLE_FORMS)(num)

    def span(block: list[str]) -> str:
        return rng.choice(RANGE_FORMS)(block[0], block[-1])

    # Every cited number at least once (a run as a range half the time), then at random.
    needed: list[str] = []
    for block in blocks:
        if range_share and len(block) > 1 and rng.random() < 0.5:
            needed.append(span(block))
        else:
            needed.extend(single(num) for num in block)
    sizes = [rng.randint(1, 3) for _ in range(count)]
    extra = max(0, sum(sizes) - len(needed))
    pool = [num for block in blocks for num in block]
    needed += [span(rng.choice(ranged)) if ranged and rng.random() < range_share
               else single(rng.choice(pool)) for _ in range(extra)]
    rng.shuffle(needed)
    fields, position = [], 0
    for size in sizes:
        fields.append(needed[position:position + size])
        position += size
    fields[-1].extend(needed[position:])
    return fields


@dataclass(frozen=True)
class CitationCheck:
    """What the watch's own parser reads in the reference fields written."""

    written: int
    recognised: int
    ranges: int
    distinct_numbers: int  # corpus article numbers named (singly or inside a range)


def check_citations(fields: list[list[str]], numbers: Sequence[str]) -> CitationCheck:
    """Parse every reference as the watch does; count the corpus articles they name."""
    from knowledge.watch.references import load_text_names, parse_reference_field

    names = load_text_names()
    by_chapter: dict[str, list[str]] = {}
    for num in numbers:
        by_chapter.setdefault(_chapter(num), []).append(num)
    known = set(numbers)
    named: set[str] = set()
    written = recognised = ranges = 0
    for field in fields:
        for item in field:
            written += 1
            found = parse_reference_field(item, names=names)
            recognised += len(found) == 1
            for reference in found:
                if reference.article is None or reference.cid != la.CCH_CID:
                    continue
                if reference.article_end is None:
                    named.update({reference.article} & known)
                    continue
                ranges += 1
                named.update(num for num in by_chapter.get(_chapter(reference.article), [])
                             if reference.covers(la.CCH_CID, num))
    return CitationCheck(written=written, recognised=recognised, ranges=ranges,
                         distinct_numbers=len(named))


# The database ---------------------------------------------------------------------------------

def create_entries(url: str, fields: list[list[str]]) -> float:
    """Migrate, then add one active entry per reference field in one transaction; seconds."""
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, make_session_factory
    from knowledge.store.models import EntryStatus, KnowledgeEntry
    from knowledge.text import question_hash

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        started = time.perf_counter()
        with make_session_factory(engine).begin() as session:
            for number, field in enumerate(fields, start=1):
                question = (f"Question synthétique {number} : quelles règles s'appliquent à "
                            "l'attribution de ce logement social ?")
                session.add(KnowledgeEntry(
                    external_id=f"W{number}", question=question,
                    answer=f"Réponse synthétique {number}, au vu des articles cités.",
                    theme="Attributions", tags=[], legal_references=field,
                    status=EntryStatus.ACTIVE.value, question_hash=question_hash(question),
                    revision=1, created_by="bench", created_at=CHECKED, updated_at=CHECKED,
                    reviewed_at=CHECKED, reviewed_by="bench"))
        return time.perf_counter() - started
    finally:
        engine.dispose()


# The child process ----------------------------------------------------------------------------

def _peak_rss_mib() -> float:
    """This process's peak RSS in MiB: VmHWM, its own address space's high-water mark.

    Not `ru_maxrss`: on Linux it keeps, across the exec, the RSS the child had at the fork,
    i.e. the parent's (the corpus and the entries), whatever the child did after.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_import(url: str, archive: Path, scratch: Path) -> dict[str, Any]:
    """Import one archive and commit; the report, the wall time and the peak RSS."""
    from knowledge.store.db import make_engine, make_session_factory
    from knowledge.watch import legi_import
    from knowledge.watch.references import load_text_names

    names = load_text_names()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rss_before = _peak_rss_mib()
    started = time.perf_counter()
    with factory() as session:
        report = legi_import.import_archive(session=session, path=archive, names=names,
                                            actor="bench", today=TODAY, scratch_dir=scratch)
        session.commit()
    wall = time.perf_counter() - started
    engine.dispose()
    return {"wall": wall, "seconds": report.seconds, "files_read": report.files_read,
            "articles_kept": report.articles_kept, "texts_kept": report.texts_kept,
            "new_versions": report.new_versions, "removed": report.removed,
            "flags_raised": report.flags_raised, "already_imported": report.already_imported,
            "rss_before": rss_before, "rss_peak": _peak_rss_mib()}


def child_refresh(url: str) -> dict[str, Any]:
    """`flags.refresh` timed: with every flag to raise again (rolled back), then with none."""
    from sqlalchemy import delete

    from knowledge.store.db import make_engine, make_session_factory
    from knowledge.store.watch_models import EntryLegalFlag
    from knowledge.watch import flags
    from knowledge.watch.references import load_text_names

    names = load_text_names()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rss_before = _peak_rss_mib()
    raising: list[float] = []
    raised: list[int] = []
    for _ in range(REFRESH_RUNS):
        with factory() as session:
            session.execute(delete(EntryLegalFlag))
            started = time.perf_counter()
            raised.append(flags.refresh(session=session, names=names, today=TODAY))
            raising.append(time.perf_counter() - started)
            session.rollback()
    repeat: list[float] = []
    again: list[int] = []
    for _ in range(REFRESH_RUNS):
        with factory() as session:
            started = time.perf_counter()
            again.append(flags.refresh(session=session, names=names, today=TODAY))
            session.commit()
            repeat.append(time.perf_counter() - started)
    engine.dispose()
    return {"raising": raising, "raised": raised, "repeat": repeat, "again": again,
            "rss_before": rss_before, "rss_peak": _peak_rss_mib()}


def run_child(*arguments: str) -> dict[str, Any]:
    """Run one step in a fresh process of this script; its JSON answer."""
    done = subprocess.run([sys.executable, __file__, "child", *arguments], check=False,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {arguments[0]} failed:\n{done.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def child_main(argv: list[str]) -> None:
    """The hidden sub-command: `child import URL ARCHIVE SCRATCH` or `child refresh URL`."""
    if argv[0] == "import":
        answer = child_import(argv[1], Path(argv[2]), Path(argv[3]))
    else:
        answer = child_refresh(argv[1])
    print(json.dumps(answer))


# Measures -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measures:
    label: str
    entries_seconds: float
    full: dict[str, Any]
    increment: dict[str, Any]
    refresh: dict[str, Any]
    again: dict[str, Any]


def measure(label: str, url: str, fields: list[list[str]], archives: tuple[Path, Path],
            scratch: Path) -> Measures:
    """The four steps on one database."""
    print(f"{label}: creating {len(fields)} entries", file=sys.stderr)
    entries_seconds = create_entries(url, fields)
    full, increment = archives
    print(f"{label}: importing {full.name}", file=sys.stderr)
    first = run_child("import", url, str(full), str(scratch))
    print(f"{label}: importing {increment.name}", file=sys.stderr)
    daily = run_child("import", url, str(increment), str(scratch))
    print(f"{label}: flags.refresh ×{2 * REFRESH_RUNS}", file=sys.stderr)
    refreshed = run_child("refresh", url)
    print(f"{label}: importing {increment.name} again", file=sys.stderr)
    again = run_child("import", url, str(increment), str(scratch))
    return Measures(label=label, entries_seconds=entries_seconds, full=first, increment=daily,
                    refresh=refreshed, again=again)


def server_answers(url: str) -> str | None:
    """The PostgreSQL server's version, or None when it does not answer."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                return str(connection.execute(text("SHOW server_version")).scalar_one())
        finally:
            engine.dispose()
    except Exception:  # any failure means: no PostgreSQL row
        return None


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def print_machine(postgres: str | None) -> None:
    """CPU, cores, memory, Python, SQLite, PostgreSQL, legi and lxml."""
    facts = benchlib.machine_description()
    versions = {}
    for package in ("legi", "lxml", "sqlalchemy", "psycopg"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    print(f"Machine: {cpu_model()}; {facts['nproc']} cores; {facts['memory']}; "
          f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
          f"PostgreSQL {postgres or 'not measured'}; "
          + "; ".join(f"{name} {version}" for name, version in versions.items())
          + f"; load average (1 min) {facts['load average (1 min)']}")


def fmt(value: float, digits: int = 2) -> str:
    """A number with a French decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def count(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def print_results(result: Measures, entries: int) -> None:
    """One Markdown table per database."""
    print(f"\n### {result.label} ({count(entries)} fiches, créées en "
          f"{fmt(result.entries_seconds)} s)\n")
    rows = []
    for step, report in (("import du fonds complet", result.full),
                         ("import de l'incrément quotidien", result.increment),
                         ("même incrément réimporté", result.again)):
        rows.append([step, fmt(report["wall"]), fmt(report["seconds"]),
                     count(report["files_read"]), count(report["articles_kept"]),
                     count(report["new_versions"]), count(report["removed"]),
                     count(report["flags_raised"]),
                     "oui" if report["already_imported"] else "non",
                     fmt(report["rss_before"], 0), fmt(report["rss_peak"], 0)])
    benchlib.print_table(
        ["étape", "durée (s, commit compris)", "`seconds` de l'import", "fichiers lus",
         "articles gardés", "nouvelles versions", "supprimés", "signalements levés",
         "déjà importé", "RSS au départ (Mio)", "RSS max (Mio)"], rows)
    refresh = result.refresh
    print()
    benchlib.print_table(
        ["`flags.refresh` seul", "médiane (s)", "min (s)", "max (s)", "signalements levés",
         "RSS max du processus (Mio)"],
        [["signalements de l'incrément à relever (supprimés avant, annulés après)",
          fmt(benchlib.median(refresh["raising"])), fmt(min(refresh["raising"])),
          fmt(max(refresh["raising"])), "/".join(map(str, refresh["raised"])),
          fmt(refresh["rss_peak"], 0)],
         ["rien de nouveau (commit compris)", fmt(benchlib.median(refresh["repeat"])),
          fmt(min(refresh["repeat"])), fmt(max(refresh["repeat"])),
          "/".join(map(str, refresh["again"])), fmt(refresh["rss_peak"], 0)]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=12_000)
    parser.add_argument("--database-url", default=DEFAULT_SERVER,
                        help="a PostgreSQL server: a throwaway database is created on it and "
                             "dropped (default: the local server, skipped if it does not answer)")
    parser.add_argument("--range-share", type=float, default=RANGE_SHARE,
                        help="share of the references written as a range (0: none)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    postgres = None if args.sqlite_only else server_answers(args.database_url)
    print_machine(postgres)

    started = time.perf_counter()
    corpus = la.cch_sized_corpus(articles=args.articles)
    increment = la.daily_increment_for(corpus, stamp=INCREMENT_STAMP)
    numbers = list(dict.fromkeys(version.num for version in corpus))
    fields = reference_fields(args.entries, numbers, range_share=args.range_share)
    check = check_citations(fields, numbers)
    print(f"corpus: {count(len(corpus))} article versions, {count(len(numbers))} numbers; "
          f"increment: {count(len(increment))} article files; entries: "
          f"{count(len(fields))}, {count(check.written)} references written, "
          f"{count(check.recognised)} recognised ({count(check.ranges)} ranges), "
          f"{count(check.distinct_numbers)} distinct corpus articles cited; "
          f"built in {fmt(time.perf_counter() - started, 1)} s", file=sys.stderr)

    results: list[Measures] = []
    with tempfile.TemporaryDirectory(prefix="svp-bench-watch-") as name:
        folder = Path(name)
        archives = (la.write_global(folder, articles=corpus, stamp=GLOBAL_STAMP),
                    la.write_increment(folder, articles=increment, stamp=INCREMENT_STAMP))
        from knowledge.store.db import sqlite_url_for

        databases: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
            ("SQLite", lambda: nullcontext(sqlite_url_for(folder / "svp.db")))]
        if postgres is not None:
            databases.append(("PostgreSQL", lambda: throwaway_database(args.database_url)))
        else:
            print("PostgreSQL: not measured (--sqlite-only, or the server does not answer)",
                  file=sys.stderr)
        for label, database in databases:
            with database() as url:
                results.append(measure(label, url, fields, archives, folder))
    print(f"\n{count(len(fields))} fiches, {count(check.written)} références "
          f"({count(check.ranges)} plages), {count(check.distinct_numbers)} articles "
          f"distincts du corpus cités ; fonds complet : {count(len(corpus))} fichiers "
          f"d'articles ; incrément : {count(len(increment))} fichiers (150 articles modifiés, "
          "10 abrogés, et leurs versions antérieures republiées)")
    for result in results:
        print_results(result, len(fields))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main(sys.argv[2:])
    else:
        main()
