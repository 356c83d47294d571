"""`/healthz` (status for anyone, details when authorised) and `/metrics` (Prometheus)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from admin.config import AdminConfig
from admin.security import ConfigDep, KnowledgeDep, LoginRequired, session_token
from knowledge.desk import heartbeat, inbox, mail_inbox, stats
from knowledge.people import advisers
from knowledge.runtime import Knowledge
from knowledge.store import backup, migrate
from knowledge.store.db import unit_of_work
from knowledge.store.models import EntryStatus, KnowledgeEntry

logger = logging.getLogger(__name__)
router = APIRouter()


# One check per part of the service: (name, check). A check returns its details and whether
# that part is healthy; other parts (e.g. inbox and outbox backlogs) add theirs here.
HealthCheck = Callable[[Knowledge], tuple[dict[str, object], bool]]


def _database_check(knowledge: Knowledge) -> tuple[dict[str, object], bool]:
    revision = migrate.current_revision(knowledge.engine)
    head = migrate.head_revision()
    with unit_of_work(knowledge.sessions) as session:
        active = session.scalar(select(func.count()).select_from(KnowledgeEntry).where(
            KnowledgeEntry.status == EntryStatus.ACTIVE.value)) or 0
    return ({"reachable": True, "revision": revision, "head": head,
             "up_to_date": revision == head, "active_entries": int(active)}, revision == head)


def _index_check(knowledge: Knowledge) -> tuple[dict[str, object], bool]:
    knowledge.sync_index()
    return ({"ready": True, "dir": str(knowledge.index_dir),
             "abstain_threshold": knowledge.abstain_threshold}, True)


def _backlog_check(knowledge: Knowledge) -> tuple[dict[str, object], bool]:
    # What waits to be processed or sent: a stuck bot shows as a growing, ageing backlog.
    with unit_of_work(knowledge.sessions) as session:
        waiting = inbox.backlog(session=session)
        received = mail_inbox.backlog(session=session)
    return ({"inbox_pending": waiting.inbox_pending,
             "mail_inbox_pending": received.pending,
             "mail_inbox_oldest_seconds": _rounded(received.oldest_seconds),
             "inbox_oldest_seconds": _rounded(waiting.inbox_oldest_seconds),
             "outbox_pending": waiting.outbox_pending,
             "outbox_oldest_seconds": _rounded(waiting.outbox_oldest_seconds),
             "mail_pending": waiting.mail_pending,
             "mail_oldest_seconds": _rounded(waiting.mail_oldest_seconds)}, True)


HEALTH_CHECKS: list[tuple[str, HealthCheck]] = [
    ("database", _database_check),
    ("index", _index_check),
    ("backlog", _backlog_check),
]


def health_details(knowledge: Knowledge) -> tuple[dict[str, object], bool]:
    """Run every check; return the details by part and whether all are healthy."""
    body: dict[str, object] = {}
    healthy = True
    for name, check in HEALTH_CHECKS:
        try:
            details, ok = check(knowledge)
        except Exception as error:  # health must answer, whatever broke
            logger.warning("health check %s failed: %s", name, error)
            details, ok = {"ok": False, "error": type(error).__name__}, False
        body[name] = details
        healthy = healthy and ok
    return body, healthy


@router.get("/healthz")
def healthz(request: Request, knowledge: KnowledgeDep, config: ConfigDep) -> JSONResponse:
    """`ok` or `degraded` for anyone; the details only to a logged-in user or the metrics token.

    The details (schema revision, index folder, threshold) help an attacker more than a
    load balancer, which needs only the status code.
    """
    details, healthy = health_details(knowledge)
    body: dict[str, object] = {"status": "ok" if healthy else "degraded"}
    if _authorised(request, knowledge, config):
        body.update(details)
    return JSONResponse(body, status_code=200 if healthy else 503)


def _rounded(seconds: float | None) -> float | None:
    return round(seconds, 1) if seconds is not None else None


class _DatabaseCollector(Collector):
    """Counts read from the database at scrape time."""

    def __init__(self, counts: stats.OperationalCounts, waiting: inbox.Backlog,
                 bot: heartbeat.ProcessState, mailer: heartbeat.ProcessState,
                 received: mail_inbox.MailBacklog) -> None:
        self.counts = counts
        self.waiting = waiting
        self.bot = bot
        self.mailer = mailer
        self.received = received

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        c = self.counts
        yield CounterMetricFamily("svp_questions_received", "Questions reçues.",
                                  value=c.questions_received)
        yield CounterMetricFamily("svp_suggestions_shown",
                                  "Questions pour lesquelles des fiches ont été suggérées.",
                                  value=c.suggestions_shown)
        yield CounterMetricFamily("svp_self_served",
                                  "Questions résolues par une réponse existante.",
                                  value=c.self_served)
        yield CounterMetricFamily("svp_answers_sent", "Réponses de conseillers envoyées.",
                                  value=c.answers_sent)
        yield GaugeMetricFamily("svp_outbox_backlog", "Messages en attente d'envoi.",
                                value=c.outbox_pending)
        yield GaugeMetricFamily("svp_outbox_failures", "Messages en échec définitif.",
                                value=c.outbox_failed)
        w = self.waiting
        yield GaugeMetricFamily("svp_outbox_oldest_age_seconds",
                                "Âge du plus ancien message Telegram en attente d'envoi.",
                                value=w.outbox_oldest_seconds or 0.0)
        yield GaugeMetricFamily("svp_mail_backlog", "Courriels en attente d'envoi.",
                                value=w.mail_pending)
        yield GaugeMetricFamily("svp_mail_oldest_age_seconds",
                                "Âge du plus ancien courriel en attente d'envoi.",
                                value=w.mail_oldest_seconds or 0.0)
        yield GaugeMetricFamily("svp_mail_inbox_backlog", "Courriels reçus non traités.",
                                value=self.received.pending)
        yield GaugeMetricFamily("svp_mail_inbox_oldest_age_seconds",
                                "Âge du plus ancien courriel reçu non traité.",
                                value=self.received.oldest_seconds or 0.0)
        mailed = self.mailer.last_seen_at
        yield GaugeMetricFamily("svp_mail_last_seen_timestamp_seconds",
                                "Dernier signe de vie de l'envoi des courriels (secondes Unix ; "
                                "0 : jamais).", value=mailed.timestamp() if mailed else 0.0)
        yield GaugeMetricFamily("svp_inbox_backlog", "Mises à jour Telegram non traitées.",
                                value=w.inbox_pending)
        yield GaugeMetricFamily("svp_inbox_oldest_age_seconds",
                                "Âge de la plus ancienne mise à jour Telegram non traitée.",
                                value=w.inbox_oldest_seconds or 0.0)
        seen = self.bot.last_seen_at
        yield GaugeMetricFamily("svp_bot_last_seen_timestamp_seconds",
                                "Dernier signe de vie du processus du bot (secondes Unix ; 0 : "
                                "jamais).", value=seen.timestamp() if seen else 0.0)
        yield GaugeMetricFamily("svp_active_entries", "Fiches actives.", value=c.active_entries)
        yield GaugeMetricFamily("svp_pending_askers", "Demandeurs en attente d'approbation.",
                                value=c.pending_askers)
        by_status = GaugeMetricFamily("svp_tickets", "Questions par statut.",
                                      labels=["status"])
        for status, number in sorted(c.tickets_by_status.items()):
            by_status.add_metric([status], number)
        yield by_status


class _BackupCollector(Collector):
    """When the newest readable backup archive was made, read from its manifest at scrape time."""

    def __init__(self, backup_dir: Path | None) -> None:
        self.backup_dir = backup_dir

    def collect(self) -> Iterable[GaugeMetricFamily]:
        created = 0.0
        if self.backup_dir is not None:
            try:
                created = backup.last_success_timestamp(backup_dir=self.backup_dir)
            except OSError as error:  # an unreadable folder reads as "no backup"
                logger.warning("backup folder %s unreadable: %s", self.backup_dir, error)
        yield GaugeMetricFamily("svp_backup_last_success_timestamp_seconds",
                                "Date de création de la sauvegarde lisible la plus récente "
                                "(secondes Unix ; 0 : aucune).", value=created)


def _authorised(request: Request, knowledge: Knowledge, config: AdminConfig) -> bool:
    """A scraper with the metrics token, or a logged-in user."""
    token = config.metrics_token
    header = request.headers.get("authorization", "")
    if token and header.lower().startswith("bearer "):
        return secrets.compare_digest(header[7:].strip().encode(), token.encode())
    with unit_of_work(knowledge.sessions) as session:
        return advisers.resolve_session(
            session=session, token=session_token(request, config),
            idle_minutes=config.session_idle_minutes) is not None


@router.get("/metrics")
def metrics(request: Request, knowledge: KnowledgeDep, config: ConfigDep) -> Response:
    """Prometheus metrics: database counts now, plus the search latency histogram."""
    if not _authorised(request, knowledge, config):
        raise LoginRequired()
    with unit_of_work(knowledge.sessions) as session:
        counts = stats.counts(session=session)
        waiting = inbox.backlog(session=session)
        bot = heartbeat.state(session=session)
        mailer = heartbeat.state(session=session, name=heartbeat.MAIL_DELIVERY)
        received = mail_inbox.backlog(session=session)
    registry = CollectorRegistry()
    registry.register(_DatabaseCollector(counts, waiting, bot, mailer, received))
    registry.register(_BackupCollector(config.backup_dir))
    body = generate_latest(registry) + generate_latest(knowledge.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
