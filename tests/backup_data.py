"""A small but complete desk, written through the real services, for the backup tests.

Entries with several revisions (and one retired), an organisation, askers, tickets (one
answered and published), an adviser with a sealed second factor, an API token, and the audit
events all of these leave. Plus what compares two databases: rows and checksums per table.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Sequence
from typing import Any

import pyotp
from fakes import HOUSING_ENTRIES
from sqlalchemy import Engine, inspect, select, table, text
from sqlalchemy.exc import OperationalError

from index.embedders import Embedder
from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.desk import review, tickets
from knowledge.people import advisers, api_tokens, askers, organisations, second_factor
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.runtime import Knowledge
from knowledge.store.models import OrganisationKind, UserRole

QUERIES = ("taxe des ordures ménagères : locataire ou propriétaire ?",
           "expulsion pendant l'hiver", "sous-location d'un HLM")


def fill(knowledge: Knowledge, *, sealer: SecretSealer,
         embedder: Embedder | None = None) -> None:
    """Write the desk through the services, one unit of work at a time."""
    embedder = embedder or knowledge.embedder
    with knowledge.session() as session:
        ids = [entries.create(session=session, actor="user:camille", embedder=embedder,
                              content=EntryFields(question=question, answer=answer,
                                                  theme="Logement", external_id=f"H{number}",
                                                  tags=("bail",),
                                                  legal_references=("CCH art. L442-5",))).id
               for number, (question, answer) in enumerate(HOUSING_ENTRIES)]
    with knowledge.session() as session:
        first = entries.get(session=session, entry_id=ids[0])
        entries.update(session=session, entry_id=ids[0], actor="user:camille",
                       embedder=embedder, reason="loi de finances",
                       content=EntryFields(question=first.question,
                                           answer=first.answer + " Voir l'article 1520 du CGI.",
                                           theme="Charges", external_id="H0"))
        entries.retire(session=session, entry_id=ids[-1], actor="user:camille",
                       reason="doublon")
    with knowledge.session() as session:
        adviser = advisers.create(session=session, login="camille", password="un mot de passe "
                                  "solide", role=UserRole.ADVISER, display_name="Camille",
                                  actor="test")
        secret = second_factor.start_enrolment(session=session, user_id=adviser.id,
                                               sealer=sealer)
        second_factor.confirm_enrolment(session=session, user_id=adviser.id, actor="test",
                                        code=pyotp.TOTP(secret).now(), sealer=sealer)
        api_tokens.create(session=session, name="intranet", user_id=adviser.id,
                          scope=api_tokens.TokenScope.READ, expires_days=30, actor="test")
        org = organisations.create(session=session, name="Habitat Provence",
                                   kind=OrganisationKind.OPH, departement="13", actor="test")
        asker_ids = []
        for number, name in enumerate(("Sophie Martin", "Karim Benali")):
            asker = askers.register_pending(
                session=session, telegram_user_id=810_000 + number, chat_id=810_000 + number,
                telegram_username=None, full_name=name, email=f"asker{number}@habitat.fr",
                organisation_id=org.id)
            askers.approve(session=session, asker_id=asker.id, actor="user:camille")
            asker_ids.append(asker.id)
    with knowledge.session() as session:
        answered = tickets.submit(session=session, asker_id=asker_ids[0],
                                  text="Un locataire peut-il repeindre son logement ?")
        tickets.submit(session=session, asker_id=asker_ids[1],
                       text="Quel délai pour rendre le dépôt de garantie ?")
        user = advisers.get_by_login(session=session, login="camille")
        review.approve(session=session, ticket_id=answered.id, adviser=user, embedder=embedder,
                       approval=review.Approval(
                           answer="Oui, pour de petits travaux de décoration, sans accord.",
                           publication=review.Publication.NEW, theme="Gestion locative et charges"))


def drop_database(server: Any, url: str) -> None:
    """Drop a test database; retried, since an index may still note its watermark from a thread."""
    for attempt in range(10):
        try:
            server.drop(url)
            return
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)


def table_checksums(engine: Engine, *, skip: Collection[str] = ()) -> dict[str, tuple[int, str]]:
    """Rows and a SHA-256 of every row, table by table, in primary-key order."""
    found = {}
    with engine.connect() as connection:
        inspector = inspect(connection)
        for name in sorted(set(inspector.get_table_names()) - set(skip)):
            key = inspector.get_pk_constraint(name)["constrained_columns"] or [
                column["name"] for column in inspector.get_columns(name)]
            rows = connection.execute(select(text("*")).select_from(table(name))
                                      .order_by(*(text(f'"{column}"') for column in key))).all()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            found[name] = (len(rows), digest.hexdigest())
    return found


def entry_checksums(engine: Engine) -> dict[int, str]:
    """A SHA-256 of each entry's content, status and revision, by id."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, question, answer, theme, status, revision FROM entries ORDER BY id"))
        return {row[0]: hashlib.sha256(repr(tuple(row)).encode()).hexdigest() for row in rows}


def ranking(knowledge: Knowledge, queries: Sequence[str] = QUERIES) -> list[list[int]]:
    """The entry ids each query ranks first to last; once the index noted its watermark."""
    found = [[hit.entry_id for hit in knowledge.similar(query, k=5, min_score=0.0).hits]
             for query in queries]
    # The index notes how far it read from a thread of its own (a row of index_readers):
    # wait for it, so that a backup taken next holds that row, as the database will.
    deadline = time.monotonic() + 30
    while knowledge._note_thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    return found
