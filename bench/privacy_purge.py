"""Time of the retention purge and of an asker's erasure on several years of activity.

A temporary database (SQLite by default, or an empty PostgreSQL given by --database-url) is
migrated and filled with synthetic activity spread over five years: askers, closed and open
questions with their messages, sent messages, processed Telegram updates, audit events. Then
the purge runs as the daily job does (dry run, real run, second run finding nothing), and one
asker with many questions is erased.

    python bench/privacy_purge.py [--tickets 10000] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import benchlib
from sqlalchemy import Engine, insert, select


def populate(engine: Engine, count: int, seed: int = 11) -> int:
    """Fill the database with `count` questions and what goes with them; return an asker id."""
    from knowledge.store.db import make_session_factory
    from knowledge.store.models import (
        Asker,
        AuditEvent,
        InboxUpdate,
        Organisation,
        Outbox,
        Ticket,
        TicketMessage,
    )
    from knowledge.timeutil import utcnow

    rng = random.Random(seed)
    now = utcnow()
    factory = make_session_factory(engine)
    with factory.begin() as session:
        session.execute(insert(Organisation), [
            {"id": n, "name": f"Organisme {n}", "kind": "oph", "departement": "13",
             "active": True, "created_at": now} for n in range(1, 30)])
        session.execute(insert(Asker), [
            {"id": n, "chat_id": 900_000 + n, "telegram_user_id": 900_000 + n,
             "telegram_username": f"demandeur{n}", "email": f"demandeur{n}@organisme.fr",
             "full_name": f"Prénom{n} Nom{n}", "organisation_id": 1 + n % 29,
             "status": "approved", "created_at": now} for n in range(1, 301)])
    tickets, messages, sent, events = [], [], [], []
    for number in range(1, count + 1):
        asker = 1 + number % 300
        created = now - timedelta(minutes=rng.randint(0, 5 * 365 * 24 * 60))
        closed = rng.random() < 0.9
        tickets.append({
            "id": number, "text": f"Bonjour, ici Prénom{asker} Nom{asker} : question {number} "
            "sur les charges récupérables ?", "status": "answered" if closed else "new",
            "asker_id": asker, "organisation_id": 1 + asker % 29,
            "telegram_chat_id": 900_000 + asker, "telegram_message_id": number,
            "suggested_entry_ids": [], "channel": "telegram", "created_at": created,
            "updated_at": created, "answered_at": created + timedelta(days=2) if closed else None})
        messages.append({"ticket_id": number, "author": "asker", "kind": "question",
                         "text": tickets[-1]["text"], "created_at": created})
        if closed:
            messages.append({"ticket_id": number, "author": "adviser", "kind": "answer",
                             "text": f"Bonjour Prénom{asker}, voici la réponse {number}.",
                             "created_at": created + timedelta(days=2)})
            sent.append({"kind": "answer", "chat_id": 900_000 + asker, "asker_id": asker,
                         "ticket_id": number, "text": messages[-1]["text"], "status": "sent",
                         "attempts": 1, "buttons": [], "telegram_message_ids": [],
                         "formatted": False, "created_at": created + timedelta(days=2),
                         "next_attempt_at": created, "sent_at": created + timedelta(days=2)})
        for action in ("ticket.submit", "ticket.approve"):
            events.append({"at": created, "actor": f"asker:{asker}", "action": action,
                           "object_type": "ticket", "object_id": str(number),
                           "details": {"publication": "none", "entry_id": None}})
    inbox = [{"update_id": n, "chat_id": 900_000 + 1 + n % 300, "kind": "message",
              "payload": {"message": {"text": f"question {n}",
                                      "from": {"id": 900_000 + 1 + n % 300}}},
              "received_at": now - timedelta(hours=n), "processed_at": now - timedelta(hours=n),
              "attempts": 1} for n in range(1, 2001)]
    with factory.begin() as session:
        for model, rows in ((Ticket, tickets), (TicketMessage, messages), (Outbox, sent),
                            (AuditEvent, events), (InboxUpdate, inbox)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start:start + 5000])
    return 1


def main() -> None:
    """Fill a database, time the purge and an erasure, print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from knowledge.people import data_requests, retention
    from knowledge.store import migrate
    from knowledge.store.db import make_engine, make_session_factory, sqlite_url_for
    from knowledge.store.models import AuditEvent, Ticket

    benchlib.print_machine()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url_for(Path(folder) / "svp.db")
        engine = make_engine(url)
        migrate.upgrade(engine)
        asker_id = populate(engine, args.tickets)
        factory = make_session_factory(engine)
        policy = retention.RetentionPolicy()
        rows = []
        with factory.begin() as session:
            audit_count = len(list(session.scalars(select(AuditEvent.id))))
        for label, dry in (("purge, simulation", True), ("purge", False),
                           ("purge suivante (rien à faire)", False)):
            started = time.perf_counter()
            with factory.begin() as session:
                report = retention.purge(session=session, policy=policy, actor="bench",
                                         dry_run=dry)
            rows.append((label, f"{time.perf_counter() - started:.2f} s",
                         ", ".join(f"{k} {v}" for k, v in report.counts.items() if v) or "—"))
        with factory.begin() as session:  # those not detached by the purge
            mine = len(list(session.scalars(select(Ticket.id).where(
                Ticket.asker_id == asker_id))))
        started = time.perf_counter()
        with factory.begin() as session:
            erasure = data_requests.erase_asker(session=session, asker_id=asker_id,
                                                actor="bench")
        rows.append((f"effacement d'un demandeur ({mine} questions)",
                     f"{time.perf_counter() - started:.2f} s",
                     ", ".join(f"{k} {v}" for k, v in erasure.counts.items() if v)))
        engine.dispose()
    print(f"\n{args.tickets} questions sur 5 ans, {audit_count} événements d'audit, "
          f"2000 mises à jour Telegram, base {url.split(':', 1)[0]}\n")
    benchlib.print_table(["opération", "durée", "lignes traitées"], rows)
    print(f"\nRSS max : {benchlib.peak_rss_mb():.0f} Mio")


if __name__ == "__main__":
    main()
