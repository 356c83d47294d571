"""Time of the advisers' queue page with 10,000 tickets (the issue's target: stays fast).

A temporary database (SQLite by default, or an empty PostgreSQL given by --database-url) is
migrated and filled with synthetic tickets: askers in organisations, twelve themes, a share of
open questions, feedback on some answers, arrival dates spread over two years. The real web
admin (FastAPI app, templates, login session) answers in-process through Starlette's test
client, so the times are the server's: query, rendering, session check, no network.

    python bench/queue_page.py [--tickets 10000] [--requests 30] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import benchlib
from sqlalchemy import Engine, insert

THEMES = ["Attributions", "Loyers et charges", "SLS", "TFPB", "Ventes HLM", "Expulsions",
          "NPNRU", "Copropriété", "Gardiens", "APL", "Travaux", "Contentieux"]
WORDS = ["surloyer", "commission d'attribution", "charges récupérables", "abattement TFPB",
         "vente d'un logement", "impayés", "mutation", "bail", "gardien", "APL", "travaux",
         "préavis"]


def populate(engine: Engine, count: int, seed: int = 7) -> int:
    """Fill the database with `count` tickets; return the id of an adviser account."""
    from knowledge.people import advisers
    from knowledge.store.db import make_session_factory
    from knowledge.store.models import Asker, Organisation, Ticket, UserRole
    from knowledge.timeutil import utcnow

    rng = random.Random(seed)
    now = utcnow()
    factory = make_session_factory(engine)
    with factory.begin() as session:
        adviser = advisers.create(session=session, login="bench", password="bench-password-1",
                                  role=UserRole.ADVISER, display_name="Camille Bench",
                                  actor="bench")
        session.execute(insert(Organisation), [
            {"id": n, "name": f"Organisme {n}", "kind": "oph", "departement": "13",
             "active": True, "created_at": now} for n in range(1, 30)])
        session.execute(insert(Asker), [
            {"id": n, "chat_id": 900_000 + n, "telegram_user_id": 900_000 + n,
             "full_name": f"Demandeur {n}", "organisation_id": 1 + n % 29,
             "status": "approved", "created_at": now} for n in range(1, 301)])
        adviser_id = adviser.id
    rows = []
    for number in range(1, count + 1):
        created = now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        is_open = rng.random() < 0.2
        status = rng.choice(["new", "in_review", "waiting_asker"]) if is_open else \
            rng.choice(["answered", "answered", "answered", "self_served", "rejected"])
        feedback = None if is_open or rng.random() < 0.7 else rng.choice([1, 1, -1])
        asker = rng.randint(1, 300)
        rows.append({
            "id": number, "status": status, "asker_id": asker,
            "organisation_id": 1 + asker % 29,
            "assigned_to_id": adviser_id if status == "in_review" or not is_open else None,
            "theme": rng.choice(THEMES), "channel": "telegram", "suggested_entry_ids": [],
            "text": f"Question {number} : {rng.choice(WORDS)} et {rng.choice(WORDS)} — "
                    "que prévoit la réglementation dans ce cas précis ?",
            "feedback": feedback,
            "feedback_comment": "Réponse incomplète." if feedback == -1 else None,
            "created_at": created, "updated_at": created,
            "answered_at": None if is_open else created + timedelta(days=2)})
    with factory.begin() as session:
        for start in range(0, len(rows), 2_000):
            session.execute(insert(Ticket), rows[start:start + 2_000])
    return adviser_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from admin.app import create_app
    from admin.config import AdminConfig
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, sqlite_url_for
    from svp.runtime import build_knowledge
    from svp.settings import Settings

    benchlib.print_machine()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url_for(Path(folder) / "svp.db")
        engine = make_engine(url)
        migrate.upgrade(engine)
        started = time.perf_counter()
        populate(engine, args.tickets)
        print(f"{args.tickets} tickets written in {time.perf_counter() - started:.1f} s "
              f"({engine.dialect.name})")
        engine.dispose()
        knowledge = build_knowledge(Settings(database_url=url, data_dir=Path(folder)))
        app = create_app(knowledge=knowledge, config=AdminConfig())
        with TestClient(app) as client:
            login = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login)
            assert token, "no login form"
            client.post("/login", data={"login": "bench", "password": "bench-password-1",
                                        "csrf_token": token.group(1)})
            pages = {
                "file ouverte, page 1": "/queue",
                "toutes, page 1": "/queue?status=all",
                "toutes, dernière page": "/queue?status=all&page=10000",
                "recherche « surloyer »": "/queue?status=all&q=surloyer",
                "recherche par n°": "/queue?status=all&q=4242",
                "thème « SLS »": "/queue?status=all&theme=SLS",
                "avis 👎": "/queue?status=all&feedback=down",
                "ancienneté ≥ 20 j": "/queue?min_age=20",
                "mes questions": "/queue?assigned=me",
                "rafraîchissement (JSON)": f"/queue/updates?since={args.tickets - 5}",
            }
            rows = []
            for label, path in pages.items():
                times = []
                for attempt in range(args.requests + 3):
                    begin = time.perf_counter()
                    response = client.get(path)
                    elapsed = time.perf_counter() - begin
                    assert response.status_code == 200, (path, response.status_code)
                    if attempt >= 3:  # warm-up: caches, first template compile
                        times.append(elapsed)
                found = re.search(r"(\d+) question\(s\)", response.text)
                rows.append([label, found.group(1) if found else "—",
                             benchlib.ms(benchlib.median(times)),
                             benchlib.ms(benchlib.percentile(times, 0.95)),
                             f"{len(response.content) / 1024:.0f}"])
        knowledge.close(save=False)
    benchlib.print_table(["page", "questions trouvées", "p50 (ms)", "p95 (ms)", "taille (Kio)"],
                         rows)


if __name__ == "__main__":
    main()
