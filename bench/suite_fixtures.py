"""What the test suite's fixtures cost, one by one, as the suite pays them (issue 21).

Each row times one piece of set-up on the real components, several times, and prints the
median: migrating a fresh schema (SQLite, PostgreSQL), the per-test reset of a PostgreSQL
worker database (TRUNCATE of every table, as before, against the probe-and-restore reset the
suite uses now, and cloning a template database), loading the e5 model, embedding an entry,
Argon2id at the production cost and at the tests' light cost, starting an `svp` command in a
child process, `svp serve --demo` until it answers, the admin app with its lifespan, and
Playwright with Chromium.

    python bench/suite_fixtures.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import benchlib

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "admin")]


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of an action, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return benchlib.median(times)


def sqlite_rows(workdir: Path) -> list[tuple[str, float, int]]:
    """Migrating a fresh SQLite file, and copying a migrated one (what each test does now)."""
    import shutil

    from knowledge.store import migrate
    from knowledge.store.db import make_engine, sqlite_url_for

    counter = iter(range(1000))

    def migrate_fresh() -> None:
        engine = make_engine(sqlite_url_for(workdir / f"m{next(counter)}.db"))
        migrate.upgrade(engine)
        engine.dispose()

    migrate_fresh()
    template = workdir / "m0.db"
    return [("schéma SQLite : migration complète", timed(migrate_fresh, 5), 5),
            ("schéma SQLite : copie du modèle migré (par test)",
             timed(lambda: shutil.copyfile(template, workdir / "copy.db"), 20), 20)]


def postgres_rows(url: str) -> list[tuple[str, float, int]]:
    """Migration, the old per-test TRUNCATE, the new reset, and a template clone."""
    from conftest import PostgresReset
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from knowledge.store import migrate
    from knowledge.store.db import Base, make_engine

    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"bench_fixtures_{uuid.uuid4().hex[:8]}"
    database = base.set(database=name).render_as_string(hide_password=False)
    clones: list[str] = []
    try:
        def create_and_migrate() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            engine = make_engine(database)
            migrate.upgrade(engine)
            engine.dispose()

        migrating = timed(create_and_migrate, 3)
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)

        def truncate_all() -> None:
            engine = create_engine(database)
            with engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            engine.dispose()

        reset = PostgresReset(database)

        def write_then_reset() -> None:
            with reset.engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO organisations (name, kind, departement, active, created_at) "
                    "VALUES ('Habitat Bench', 'oph', '13', true, now())"))
            reset.reset()

        resetting = timed(write_then_reset, 30)
        reset.close()

        def clone() -> None:
            clones.append(f"{name}_c{len(clones)}")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{clones[-1]}" TEMPLATE "{name}"'))
                connection.execute(text(f'DROP DATABASE "{clones[-1]}" WITH (FORCE)'))

        return [("PostgreSQL : création + migration d'une base", migrating, 3),
                ("PostgreSQL : TRUNCATE de toutes les tables (avant, par test)",
                 timed(truncate_all, 20), 20),
                ("PostgreSQL : remise à zéro sondée, DELETE de ce qui a changé (après, par test)",
                 resetting, 30),
                ("PostgreSQL : clonage d'un modèle + suppression (non retenu)", timed(clone, 5), 5)]
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def model_rows() -> list[tuple[str, float, int]]:
    """Loading e5 and embedding one short entry (what the memoised embedder saves)."""
    from index.embedders import make_embedder

    model = make_embedder("e5-small-int4")
    entry = ("Qui paie la taxe d'enlèvement des ordures ménagères ? Le locataire, au titre "
             "des charges récupérables, sauf clause contraire du bail.")
    return [("chargement du modèle e5-small-int4", timed(lambda: make_embedder("e5-small-int4"),
                                                         3), 3),
            ("plongement d'une fiche courte (texte + question)",
             timed(lambda: (model.embed_passages([entry]), model.embed_queries([entry[:60]])),
                   10), 10)]


def hashing_rows() -> list[tuple[str, float, int]]:
    """Argon2id as the service runs it, and as the test processes run it."""
    from argon2 import PasswordHasher

    production, light = PasswordHasher(), PasswordHasher(time_cost=1, memory_cost=1024,
                                                         parallelism=1)
    return [("Argon2id, coût de production : un hachage", timed(
                lambda: production.hash("correct horse battery"), 10), 10),
            ("Argon2id, coût des tests en processus : un hachage", timed(
                lambda: light.hash("correct horse battery"), 10), 10)]


def process_rows(workdir: Path) -> list[tuple[str, float, int]]:
    """A child `svp` command, and `svp serve --demo` until /healthz answers."""
    import httpx

    env = {**os.environ, "SVP_DATA_DIR": str(workdir / "cli")}
    for name in [key for key in env if key.startswith("SVP_") and key != "SVP_DATA_DIR"]:
        env.pop(name)
    svp = [sys.executable, "-m", "svp"]
    subprocess.run([*svp, "init"], env=env, cwd=workdir, check=True, capture_output=True)

    def command() -> None:
        subprocess.run([*svp, "kb", "themes", "list"], env=env, cwd=workdir, check=True,
                       capture_output=True)

    def serve_demo() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        data = workdir / f"demo-{port}"
        process = subprocess.Popen([*svp, "serve", "--demo", "--port", str(port)],
                                   env={**env, "SVP_DATA_DIR": str(data)}, cwd=workdir,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            raise RuntimeError("svp serve --demo did not start")
        finally:
            process.terminate()
            process.wait(timeout=30)

    return [("commande `svp kb themes list` (processus enfant)", timed(command, 5), 5),
            ("`svp serve --demo` jusqu'à la réponse de /healthz", timed(serve_demo, 3), 3)]


def web_rows(workdir: Path) -> list[tuple[str, float, int]]:
    """The admin app with its lifespan, and Playwright with Debian's Chromium."""
    from admin_helpers import client_for

    from index.embedders import make_embedder
    from knowledge.runtime import Knowledge
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, sqlite_url_for

    url = sqlite_url_for(workdir / "web.db")
    migrate.upgrade(make_engine(url))
    model = make_embedder("e5-small-int4")
    knowledge = Knowledge.from_url(url, embedder_factory=lambda: model,
                                   index_dir=workdir / "web-index")

    def app() -> None:
        with client_for(knowledge) as client:
            client.get("/login")

    rows = [("application web + lifespan + page de connexion (TestClient)", timed(app, 10), 10)]
    knowledge.close()
    chromium = Path("/usr/bin/chromium")
    if chromium.exists():
        from playwright.sync_api import sync_playwright

        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]

        def browser() -> None:
            with sync_playwright() as playwright:
                launched = playwright.chromium.launch(executable_path=str(chromium),
                                                      headless=True, args=args)
                launched.new_page().goto("about:blank")
                launched.close()

        rows.append(("Playwright + Chromium : démarrage, une page, arrêt", timed(browser, 3), 3))
    return rows


def main() -> None:
    """Time each fixture and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("SVP_TEST_DATABASE_URL", ""),
                        help="PostgreSQL server for the PostgreSQL rows (skipped when empty)")
    options = parser.parse_args()
    benchlib.print_machine()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        rows = sqlite_rows(workdir)
        if options.database_url:
            rows += postgres_rows(options.database_url)
        rows += model_rows() + hashing_rows() + process_rows(workdir) + web_rows(workdir)
    benchlib.print_table(["mise en place", "médiane (ms)", "fois"],
                         [(what, benchlib.ms(seconds), repeat) for what, seconds, repeat in rows])


if __name__ == "__main__":
    main()
