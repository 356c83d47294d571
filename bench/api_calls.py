"""Server time of the JSON API's calls: token check, rate limit, service, JSON, audit of writes.

A temporary SQLite database (or an empty PostgreSQL given by --database-url) gets the first
entries of the demo base (embedded by the real model) and synthetic tickets; the real admin
app answers in-process through Starlette's test client with a write token, so the times are
the server's (no network). Each write-token call also writes its `api.call` audit line.

    python bench/api_calls.py [--entries 40] [--tickets 2000] [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import benchlib
from queue_page import populate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=40)
    parser.add_argument("--tickets", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from admin.app import create_app
    from admin.config import AdminConfig
    from knowledge.catalog import entries
    from knowledge.people import api_tokens
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, sqlite_url_for
    from svp.runtime import build_knowledge
    from svp.settings import Settings

    benchlib.print_machine()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url_for(Path(folder) / "svp.db")
        engine = make_engine(url)
        migrate.upgrade(engine)
        adviser_id = populate(engine, args.tickets)
        engine.dispose()
        knowledge = build_knowledge(Settings(database_url=url, data_dir=Path(folder)))
        lines = benchlib.DEMO_DATA.read_text(encoding="utf-8").splitlines()[:args.entries]
        with knowledge.session() as session:
            for line in lines:
                row = json.loads(line)
                entries.create(session=session, actor="bench", embedder=knowledge.embedder,
                               content=entries.EntryFields(question=row["question"],
                                                           answer=row["answer"]))
            secret = api_tokens.create(session=session, name="bench", user_id=adviser_id,
                                       scope=api_tokens.TokenScope.WRITE, expires_days=None,
                                       actor="bench").secret
        app = create_app(knowledge=knowledge,
                         config=AdminConfig(api_rate_per_minute=1_000_000))
        auth = {"Authorization": f"Bearer {secret}"}
        calls = {
            f"GET /entries ({min(args.entries, 50)} fiches)": ("GET", "/api/v1/entries", None),
            "GET /entries/{id}": ("GET", "/api/v1/entries/7", None),
            "GET /search (k=5)": ("GET", "/api/v1/search?q=d%C3%A9p%C3%B4t+de+garantie", None),
            "GET /tickets (file ouverte)": ("GET", "/api/v1/tickets", None),
            "GET /tickets/{id} (avec suggestions)": ("GET", "/api/v1/tickets/42", None),
            "GET /stats (12 mois)": ("GET", "/api/v1/stats", None),
            "POST /tickets/{id}/note": ("POST", "/api/v1/tickets/42/note",
                                        {"text": "Note de mesure."}),
            "401 (jeton inconnu)": ("GET", "/api/v1/entries", None),
        }
        rows = []
        with TestClient(app) as client:
            for label, (method, path, body) in calls.items():
                headers = {"Authorization": "Bearer svp_inconnu"} if "401" in label else auth
                times = []
                for attempt in range(args.requests + 3):
                    begin = time.perf_counter()
                    response = client.request(method, path, json=body, headers=headers)
                    elapsed = time.perf_counter() - begin
                    assert response.status_code < 500, (path, response.text)
                    if attempt >= 3:  # warm-up
                        times.append(elapsed)
                rows.append([label, str(response.status_code),
                             benchlib.ms(benchlib.median(times)),
                             benchlib.ms(benchlib.percentile(times, 0.95)),
                             f"{len(response.content) / 1024:.1f}"])
        knowledge.close(save=False)
    benchlib.print_table(["appel", "statut", "p50 (ms)", "p95 (ms)", "taille (Kio)"], rows)


if __name__ == "__main__":
    main()
