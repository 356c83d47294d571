"""The help centre's costs at 10,000 entries: suggestions as you type, and page render times.

A temporary SQLite database is filled with synthetic entries and random unit vectors (as
`search_latency.py` does), a member is signed in through the services, and the real app is
driven in-process (Starlette's test client, no network): the suggestions endpoint for each
query of the development set, typed as prefixes, the search page, an entry page, the home
page and a theme page. A search on its own, straight through `Knowledge.similar`, is timed on
the same queries: the difference is what the help centre adds to the bot's search.

    python bench/help_centre.py [--size 10000] [--queries 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import ms, percentile


def main() -> None:
    """Print the latency table of the help centre."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from admin.app import create_app
    from admin.config import AdminConfig
    from index.embedders import E5_SMALL_INT4, make_embedder
    from knowledge.people import members, organisations
    from knowledge.runtime import Knowledge
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, sqlite_url_for
    from knowledge.store.models import OrganisationKind

    benchlib.print_machine()
    queries = benchlib.devset_queries()[:args.queries]
    with tempfile.TemporaryDirectory() as folder:
        url = sqlite_url_for(Path(folder) / "help.db")
        engine = make_engine(url)
        migrate.upgrade(engine)
        benchlib.populate_synthetic(engine, count=args.size, model_id=E5_SMALL_INT4, dim=384)
        engine.dispose()
        embedder = make_embedder("e5-small-int4")
        knowledge = Knowledge.from_url(url, embedder_factory=lambda: embedder,
                                       index_dir=Path(folder) / "index")
        with knowledge.session() as session:
            organisation = organisations.create(session=session, name="Habitat Bench",
                                                kind=OrganisationKind.OPH, departement="13",
                                                actor="bench")
            members.set_domains(session=session, organisation_id=organisation.id,
                                domains=["bench.example"], actor="bench")
            issued = members.request_link(session=session, email="a@bench.example", ip="bench")
            assert issued is not None
            token, _row = members.redeem(session=session, token=issued.token, ip="bench")
        knowledge.similar(queries[0], k=5)  # builds the index
        embedder.embed_queries(queries[:10])  # warms the model
        timings: dict[str, list[float]] = {name: [] for name in (
            "Knowledge.similar (bot)", "GET /aide/suggestions", "GET /aide/recherche",
            "GET /aide/fiches/{id}", "GET /aide", "GET /aide/themes/{nom}")}

        def timed(name: str, call: object) -> None:
            started = time.perf_counter()
            response = call()  # type: ignore[operator]
            timings[name].append(time.perf_counter() - started)
            status = getattr(response, "status_code", 200)
            assert status == 200, (name, status)

        app = create_app(knowledge=knowledge, config=AdminConfig())
        with TestClient(app, follow_redirects=False) as client:
            client.cookies.set("svp_aide", token)
            for number, query in enumerate(queries, start=1):
                timed("Knowledge.similar (bot)", lambda q=query: knowledge.similar(q, k=10))
                prefix = query[:max(3, len(query) * 2 // 3)]
                timed("GET /aide/suggestions",
                      lambda p=prefix: client.get("/aide/suggestions", params={"q": p}))
                timed("GET /aide/recherche",
                      lambda q=query: client.get("/aide/recherche", params={"q": q}))
                timed("GET /aide/fiches/{id}",
                      lambda n=number: client.get(f"/aide/fiches/{n * 97 % args.size + 1}"))
                if number <= 20:
                    timed("GET /aide", lambda: client.get("/aide"))
                    timed("GET /aide/themes/{nom}",
                          lambda: client.get("/aide/themes/Synthétique"))
        knowledge.close()
    print(f"\n{args.size} fiches, {len(queries)} requêtes du jeu de développement "
          "(SQLite, processus unique)")
    benchlib.print_table(["opération", "n", "p50", "p95"], [
        [name, len(values), ms(percentile(values, 0.5)), ms(percentile(values, 0.95))]
        for name, values in timings.items()])


if __name__ == "__main__":
    main()
