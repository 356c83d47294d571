"""Demo data for `svp serve --demo`: knowledge base, organisations, askers, tickets, accounts."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from index.embedders import Embedder, Vectors
from index.precomputed import save_table, with_precomputed
from knowledge.catalog import importing
from knowledge.desk import tickets
from knowledge.people import advisers, members, organisations
from knowledge.runtime import Knowledge
from knowledge.store import migrate
from knowledge.store.db import make_engine, make_session_factory, sqlite_url_for, unit_of_work
from knowledge.store.models import Asker, AskerStatus, OrganisationKind, Ticket, User, UserRole
from knowledge.timeutil import utcnow
from svp.demo_themes import map_demo_themes

logger = logging.getLogger(__name__)

ATTRIBUTION = "Source : service-public.fr — DILA, Licence Ouverte 2.0"
PACKAGED_FILE = migrate.MIGRATIONS_DIR.parent / "data" / "demo-kb.jsonl"
# Vectors of the demo entries for the default embedder, so `--demo` starts in seconds.
PACKAGED_VECTORS = PACKAGED_FILE.with_name("demo-kb.e5-small-int4.npz")
ADVISER_LOGIN = "conseiller"
ADMIN_LOGIN = "admin"

ORGANISATIONS = (
    ("Habitat Méditerranée", OrganisationKind.OPH, "13"),
    ("Logis du Var", OrganisationKind.ESH, "83"),
    ("Alpes Azur Habitat", OrganisationKind.OPH, "06"),
    ("Corse Habitat Coopératif", OrganisationKind.COOPERATIVE, "2A"),
    # Asks nothing in the demo: the statistics show organisations and départements at zero.
    ("Vaucluse Logement", OrganisationKind.SEM, "84"),
)

# Mail domains of the demo organisations' staff (the help centre's sign-in by link).
DOMAINS = {"Habitat Méditerranée": ["habitat-med.example"],
           "Logis du Var": ["logisduvar.example"]}

# (full name, email, organisation index, fake Telegram id)
ASKERS = (
    ("Sophie Martin", "sophie.martin@habitat-med.example", 0, 910_000_001),
    ("Karim Benali", "k.benali@logisduvar.example", 1, 910_000_002),
    ("Julie Rossi", "julie.rossi@alpes-azur.example", 2, 910_000_003),
    ("Paul-Antoine Santoni", "pa.santoni@corse-coop.example", 3, 910_000_004),
)
PENDING_ASKER = ("Nicolas Garcia", "n.garcia@habitat-med.example", 0, 910_000_005)

# (asker index, question): some close to entries of the demo base, some not covered by it.
TICKETS = (
    (0, "Un locataire HLM est décédé : son fils qui vivait avec lui peut-il garder le "
        "logement et reprendre le bail ?"),
    (1, "Deux locataires de notre parc souhaitent échanger leurs logements sociaux. "
        "Quelles sont les conditions pour accepter cet échange ?"),
    (2, "Une locataire a de grosses difficultés pour payer son loyer depuis trois mois. "
        "Vers quelles aides pouvons-nous l'orienter ?"),
    (3, "Peut-on facturer au locataire les frais d'état des lieux de sortie réalisé par "
        "un huissier ?"),
    (0, "Le salaire de notre gardien d'immeuble est-il récupérable dans les charges "
        "locatives, et dans quelle proportion ?"),
    (1, "Un étudiant logé dans une de nos résidences peut-il toucher l'APL en plus de sa "
        "bourse ?"),
    (2, "L'abattement de TFPB en quartier prioritaire de la politique de la ville est-il "
        "maintenu si la convention d'utilisation n'est pas signée avant le 31 décembre ?"),
    (3, "Un locataire dépasse le plafond de ressources de 40 % : à partir de quand le "
        "supplément de loyer de solidarité s'applique-t-il ?"),
)


AGES_DAYS = (0, 1, 3, 6, 8, 10, 2, 12)


@dataclass(frozen=True)
class DemoAccounts:
    """What the demo created; the passwords are shown once and never stored in clear."""

    adviser_login: str
    adviser_password: str
    admin_login: str
    admin_password: str
    entries_created: int
    tickets_created: int


def demo_file() -> Path:
    """Return the demo knowledge-base file shipped in the package."""
    return PACKAGED_FILE


def create_demo(knowledge: Knowledge, *, data_file: Path | None = None) -> DemoAccounts | None:
    """Fill an empty database with demo data; return None (and change nothing) otherwise."""
    with knowledge.session() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
        asked = session.scalar(select(func.count()).select_from(Ticket)) or 0
    if users or asked:
        logger.info("demo skipped: the database already has accounts or questions")
        return None
    path = data_file or demo_file()
    with knowledge.session() as session:
        report = importing.import_file(session=session, path=path, actor="demo",
                                       embedder=with_precomputed(knowledge.embedder,
                                                                 PACKAGED_VECTORS))
        map_demo_themes(session=session)
    knowledge.sync_index()
    # Searched before the next unit of work: on SQLite a search must not wait on our own lock.
    suggestions = {text: knowledge.similar(text, k=3) for _, text in TICKETS}
    adviser_password = secrets.token_urlsafe(12)
    admin_password = secrets.token_urlsafe(12)
    with knowledge.session() as session:
        adviser = advisers.create(session=session, login=ADVISER_LOGIN, password=adviser_password,
                                  role=UserRole.ADVISER, display_name="Camille Conseillère",
                                  actor="demo")
        advisers.create(session=session, login=ADMIN_LOGIN, password=admin_password,
                        role=UserRole.ADMIN, display_name="Administrateur SVP", actor="demo")
        created = [organisations.create(session=session, name=name, kind=kind,
                                        departement=departement, actor="demo")
                   for name, kind, departement in ORGANISATIONS]
        for organisation in created:
            organisations.new_invite_code(session=session, organisation_id=organisation.id,
                                          actor="demo")
            if organisation.name in DOMAINS:
                members.set_domains(session=session, organisation_id=organisation.id,
                                    domains=DOMAINS[organisation.name], actor="demo")
        now = utcnow()
        people = []
        for full_name, email, org_index, telegram_id in (*ASKERS, PENDING_ASKER):
            asker = Asker(telegram_user_id=telegram_id, chat_id=telegram_id, full_name=full_name,
                          email=email, organisation_id=created[org_index].id,
                          status=AskerStatus.APPROVED.value, consent_at=now, created_at=now,
                          decided_at=now, decided_by="demo")
            session.add(asker)
            people.append(asker)
        people[-1].status = AskerStatus.PENDING.value
        people[-1].decided_at = people[-1].decided_by = None
        session.flush()
        for number, (asker_index, text) in enumerate(TICKETS):
            ticket = tickets.submit(session=session, asker_id=people[asker_index].id, text=text)
            result = suggestions[text]
            if not result.abstained and result.hits:
                tickets.record_suggestions(session=session, ticket_id=ticket.id,
                                           entry_ids=[hit.entry_id for hit in result.hits],
                                           top_score=result.hits[0].score)
            # Spread the arrival dates so the queue shows every age badge.
            arrived = now - timedelta(days=AGES_DAYS[number])
            ticket.created_at = ticket.updated_at = arrived
            for message in ticket.messages:
                message.created_at = arrived
            if number == 1:
                ticket.assigned_to_id = adviser.id
                ticket.status = "in_review"
    logger.info("demo created: %s entries, %s tickets", report.created, len(TICKETS))
    return DemoAccounts(adviser_login=ADVISER_LOGIN, adviser_password=adviser_password,
                        admin_login=ADMIN_LOGIN, admin_password=admin_password,
                        entries_created=report.created, tickets_created=len(TICKETS))


class _RecordingEmbedder:
    """Embeds passages and queries and keeps each text with its vector."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.texts: list[str] = []
        self.vectors: list[Vectors] = []
        self.queries: list[str] = []
        self.query_vectors: list[Vectors] = []

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        vectors = self.inner.embed_queries(texts)
        self.queries.extend(texts)
        self.query_vectors.append(vectors)
        return vectors

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        vectors = self.inner.embed_passages(texts)
        self.texts.extend(texts)
        self.vectors.append(vectors)
        return vectors


def build_demo_vectors(*, embedder: Embedder, workdir: Path, out: Path,
                       data_file: Path | None = None) -> int:
    """Import the demo file into a scratch database; save the passage and query vectors made."""
    recorder = _RecordingEmbedder(embedder)
    engine = make_engine(sqlite_url_for(workdir / "demo-vectors.db"))
    try:
        migrate.upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            importing.import_file(session=session, path=data_file or demo_file(),
                                  actor="demo", embedder=recorder)
    finally:
        engine.dispose()
    save_table(out, model_id=embedder.model_id, texts=recorder.texts,
               vectors=np.concatenate(recorder.vectors), queries=recorder.queries,
               query_vectors=np.concatenate(recorder.query_vectors) if recorder.queries
               else None)
    return len(recorder.texts)
