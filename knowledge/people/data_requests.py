"""Requests of the persons concerned: a copy of their data (access), and erasure.

Erasing an asker reaches every table: their row, the texts of their tickets (names replaced,
the question and answer kept), the files of their questions (deleted), the messages sent to
them (texts and chat ids), the raw Telegram updates they sent, phrasings learnt from their
questions and the audit log (actor and details redacted, never the event itself). Erasing an
adviser's account keeps the answers they wrote but cuts their name, login, Telegram chat and
secrets from them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, Text, delete, func, or_, select, update
from sqlalchemy.orm import Session, undefer

from knowledge import audit
from knowledge.desk import attachments, conversations
from knowledge.desk.notes import INTERNAL_NOTE
from knowledge.errors import Conflict, Forbidden
from knowledge.people import advisers, askers, members
from knowledge.people.retention import REDACTED
from knowledge.people.scrubbing import Scrubber, identifiers_of, scrub_entry, scrub_phrasing
from knowledge.store.api_models import ApiToken
from knowledge.store.catalog_models import EntryCorrection, ImportUpload
from knowledge.store.db import Base
from knowledge.store.login_security import LoginThrottle, RecoveryCode
from knowledge.store.mail_models import MailInboxMessage
from knowledge.store.member_models import MemberLink, MemberSession
from knowledge.store.models import (
    Asker,
    AskerStatus,
    AuditEvent,
    DigestSend,
    InboxUpdate,
    KnowledgeEntry,
    LoginAttempt,
    Outbox,
    OutboxStatus,
    Ticket,
    TicketMessage,
    WebSession,
)
from knowledge.store.vocabulary import EntryPhrasing
from knowledge.timeutil import utcnow

if TYPE_CHECKING:
    from index.embedders import Embedder

logger = logging.getLogger(__name__)

ERASED_ADVISER = "Conseiller effacé"
_GONE = "données personnelles effacées"


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed, per table (counts only: the erased data is gone)."""

    counts: dict[str, int]


# --- access ---------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def asker_data(*, session: Session, asker_id: int) -> dict[str, Any]:
    """Everything stored about an asker, as plain JSON-ready values."""
    asker = askers.get(session=session, asker_id=asker_id)
    tickets = list(session.scalars(select(Ticket).where(Ticket.asker_id == asker.id)
                                   .order_by(Ticket.id)))
    outbox = session.scalars(select(Outbox).where(Outbox.asker_id == asker.id)
                             .order_by(Outbox.id))
    events = session.scalars(select(AuditEvent).where(
        or_((AuditEvent.object_type == "asker") & (AuditEvent.object_id == str(asker.id)),
            AuditEvent.actor == f"asker:{asker.id}")).order_by(AuditEvent.id))
    digests = session.scalars(select(DigestSend).where(DigestSend.asker_id == asker.id)
                              .order_by(DigestSend.id))
    received = _mail_of(session, asker)
    corrections = session.scalars(select(EntryCorrection)
                                  .where(EntryCorrection.asker_id == asker.id)
                                  .order_by(EntryCorrection.id))
    return {
        "demandeur": {
            "id": asker.id, "nom": asker.full_name, "courriel": asker.email,
            "identifiant_telegram": asker.telegram_user_id,
            "nom_utilisateur_telegram": asker.telegram_username,
            "conversation_telegram": asker.chat_id,
            "organisme": asker.organisation.name if asker.organisation else None,
            "statut": asker.status, "consentement_le": _plain(asker.consent_at),
            "inscrit_le": _plain(asker.created_at), "decision_le": _plain(asker.decided_at),
            "abonne_lettre_mensuelle": asker.digest_subscribed,
        },
        "questions": [{
            "id": ticket.id, "posee_le": _plain(ticket.created_at), "statut": ticket.status,
            "texte": ticket.text, "theme": ticket.theme,
            "repondue_le": _plain(ticket.answered_at), "avis": ticket.feedback,
            "commentaire": ticket.feedback_comment,
            # Internal notes are the advisers' working notes, promised never to reach the
            # asker: an access request by mail lets an admin judge them (docs/rgpd.md).
            "messages": [{"auteur": message.author, "type": message.kind,
                          "le": _plain(message.created_at), "texte": message.text}
                         for message in ticket.messages if message.kind != INTERNAL_NOTE],
            # The files themselves are not copied in: they can weigh tens of megabytes, the
            # asker sent (or received) them, and the desk hands any of them out on request;
            # the checksum proves which file is meant (docs/rgpd.md).
            "fichiers": [{"nom": item.filename, "type": item.content_type,
                          "taille_octets": item.size, "sha256": item.sha256,
                          "sens": "envoyé par vous" if item.direction == attachments.IN
                          else "envoyé par le SVP", "le": _plain(item.created_at)}
                         for item in attachments.for_ticket(session=session,
                                                            ticket_id=ticket.id)],
        } for ticket in tickets],
        "messages_envoyes": [{"id": row.id, "type": row.kind, "statut": row.status,
                              "cree_le": _plain(row.created_at),
                              "envoye_le": _plain(row.sent_at), "texte": row.text}
                             for row in outbox],
        "courriels_recus": [{"id": row.id, "recu_le": _plain(row.received_at),
                             "message_id": row.message_id, "taille": row.size,
                             "suite": row.outcome, "question": row.ticket_id,
                             "contenu": bytes(row.raw or b"").decode("utf-8", "replace")}
                            for row in received],
        "lettres_mensuelles": [{"mois": row.month, "le": _plain(row.created_at)}
                               for row in digests],
        "corrections_recues": [{"fiche": row.entry_id, "revision": row.revision,
                                "le": _plain(row.sent_at)} for row in corrections],
        "journal": [{"le": _plain(event.at), "action": event.action} for event in events],
    }


def _mail_of(session: Session, asker: Asker) -> list[MailInboxMessage]:
    """The received mail of an asker: by their address, or by the tickets it became."""
    mine: list[ColumnElement[bool]] = [MailInboxMessage.ticket_id.in_(
        select(Ticket.id).where(Ticket.asker_id == asker.id))]
    if asker.email:
        mine.append(func.lower(MailInboxMessage.sender) == asker.email.lower())
    return list(session.scalars(select(MailInboxMessage).options(
        undefer(MailInboxMessage.raw)).where(or_(*mine)).order_by(MailInboxMessage.id)))


def adviser_data(*, session: Session, user_id: int) -> dict[str, Any]:
    """Everything stored about an adviser's account (never its secrets)."""
    user = advisers.get(session=session, user_id=user_id)
    actors = (f"user:{user.login}", user.login)
    sessions = session.scalars(select(WebSession).where(WebSession.user_id == user.id)
                               .order_by(WebSession.created_at))
    attempts = session.scalars(select(LoginAttempt).where(LoginAttempt.login == user.login)
                               .order_by(LoginAttempt.id))
    events = session.scalars(select(AuditEvent).where(or_(
        AuditEvent.actor.in_(actors),
        (AuditEvent.object_type == "user") & (AuditEvent.object_id == str(user.id))))
        .order_by(AuditEvent.id))
    written = session.scalars(select(TicketMessage).where(TicketMessage.user_id == user.id)
                              .order_by(TicketMessage.id))
    return {
        "compte": {"id": user.id, "identifiant": user.login, "nom": user.display_name,
                   "role": user.role, "actif": user.active, "cree_le": _plain(user.created_at),
                   "mot_de_passe_change_le": _plain(user.password_changed_at),
                   "conversation_telegram": user.telegram_chat_id,
                   "double_authentification": user.totp_enabled_at is not None},
        "sessions": [{"ouverte_le": _plain(row.created_at), "vue_le": _plain(row.last_seen_at),
                      "fin": _plain(row.revoked_at or row.expires_at), "adresse": row.ip,
                      "navigateur": row.user_agent} for row in sessions],
        "tentatives_de_connexion": [{"le": _plain(row.at), "adresse": row.ip,
                                     "reussie": row.success} for row in attempts],
        "messages_rediges": [{"question": row.ticket_id, "type": row.kind,
                              "le": _plain(row.created_at), "texte": row.text}
                             for row in written],
        "journal": [{"le": _plain(event.at), "action": event.action,
                     "objet": f"{event.object_type}:{event.object_id or ''}"}
                    for event in events],
    }


def record_export(*, session: Session, object_type: str, object_id: int, actor: str,
                  fmt: str) -> None:
    """Note in the audit log that someone's data was handed out (who, whose, which format)."""
    audit.record(session=session, actor=actor, action=f"{object_type}.export",
                 object_type=object_type, object_id=object_id, details={"format": fmt})


def to_json(data: dict[str, Any]) -> bytes:
    """A copy of someone's data as an indented UTF-8 JSON file."""
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def _rows(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for key, item in value.items()
                for row in _rows(f"{prefix}.{key}" if prefix else str(key), item)]
    if isinstance(value, list):
        return [row for number, item in enumerate(value, start=1)
                for row in _rows(f"{prefix}[{number}]", item)]
    return [(prefix, "" if value is None else str(value))]


def to_csv(data: dict[str, Any]) -> bytes:
    """The same copy as a two-column CSV (field, value), UTF-8 with BOM for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["champ", "valeur"])
    writer.writerows(_rows("", data))
    return out.getvalue().encode("utf-8-sig")


# --- erasure --------------------------------------------------------------------------------

def _rename_actor(session: Session, old: str, new: str) -> int:
    """Replace an actor string in every "who did it" column (audit log apart)."""
    changed = 0
    for table in Base.metadata.sorted_tables:
        if table.name == AuditEvent.__tablename__:
            continue
        for column in table.columns:
            if isinstance(column.type, String | Text) and (
                    column.name == "actor" or column.name.endswith("_by")):
                result = session.execute(update(table).where(column == old)
                                         .values({column.name: new}))
                changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def _redact_audit(session: Session, scrubber: Scrubber, actors: dict[str, str]) -> int:
    """Redact the audit events naming the person; the event (who, what, when) stays."""
    redacted = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        new_actor = actors.get(event.actor, event.actor)
        details = event.details or {}
        mentions = scrubber.found(json.dumps(details, ensure_ascii=False))
        if new_actor == event.actor and not mentions:
            continue
        # Migration 0011 lets an update through only with the redaction marker.
        event.details = {**(scrubber.value(details) if mentions else details), REDACTED: True}
        event.actor = new_actor
        redacted += 1
    return redacted


def _delete_inbox(session: Session, chats: list[int], scrubber: Scrubber) -> int:
    """Delete the raw updates sent by the person (or naming them), processed or not."""
    removed = 0
    for row in session.scalars(select(InboxUpdate).order_by(InboxUpdate.id)):
        if row.chat_id in chats or scrubber.found(json.dumps(row.payload, ensure_ascii=False)):
            session.delete(row)
            removed += 1
    return removed


def _scrub_entries(session: Session, ticket_ids: list[int], scrubber: Scrubber,
                   embedder: Embedder | None) -> int:
    """Names in entries published from these tickets (and their revisions, phrasings)."""
    if not ticket_ids:
        return 0
    changed = 0
    for phrasing in session.scalars(select(EntryPhrasing)
                                    .where(EntryPhrasing.ticket_id.in_(ticket_ids))):
        changed += scrub_phrasing(session=session, phrasing=phrasing, scrubber=scrubber,
                                  embedder=embedder)
    for entry in session.scalars(select(KnowledgeEntry)
                                 .where(KnowledgeEntry.origin_ticket_id.in_(ticket_ids))):
        changed += scrub_entry(session=session, entry=entry, scrubber=scrubber,
                               embedder=embedder)
    return changed


def erase_asker(*, session: Session, asker_id: int, actor: str,
                embedder: Embedder | None = None) -> Erasure:
    """Erase an asker's personal data from every table; their questions stay, anonymised.

    With an embedder, an entry or phrasing whose text held their name is embedded again at
    once; without, it waits for `svp index reembed` (its old vector is dropped).
    """
    asker = askers.get(session=session, asker_id=asker_id)
    scrubber = Scrubber(identifiers_of(asker))
    chats = sorted({number for number in (asker.chat_id, asker.telegram_user_id)
                    if number is not None})
    old_actor = f"telegram:{asker.telegram_user_id}" if asker.telegram_user_id else None
    ticket_ids = list(session.scalars(select(Ticket.id).where(or_(
        Ticket.asker_id == asker.id, Ticket.telegram_chat_id.in_(chats)))))
    counts: dict[str, int] = {"tickets": len(ticket_ids), "messages": 0, "outbox": 0}
    for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))):
        ticket.text = scrubber.text(ticket.text)
        ticket.feedback_comment = scrubber.optional(ticket.feedback_comment)
        ticket.draft = scrubber.value(ticket.draft) if ticket.draft else ticket.draft
        ticket.telegram_chat_id = None
        ticket.telegram_message_id = None
    for message in session.scalars(select(TicketMessage)
                                   .where(TicketMessage.ticket_id.in_(ticket_ids))):
        message.text = scrubber.text(message.text)
        message.telegram_message_id = None
        counts["messages"] += 1
    counts["entries"] = _scrub_entries(session, ticket_ids, scrubber, embedder)
    # Every file of their questions, received or sent: names and bytes may hold anything.
    counts["attachments"] = attachments.delete_for_tickets(session=session,
                                                           ticket_ids=ticket_ids)
    for row in session.scalars(select(Outbox).where(or_(
            Outbox.asker_id == asker.id, Outbox.chat_id.in_(chats),
            Outbox.ticket_id.in_(ticket_ids)))):
        counts["outbox"] += 1
        if row.asker_id == asker.id or row.chat_id in chats:
            # Addressed to the person: nothing of it may stay, nor be sent any more.
            if row.status == OutboxStatus.PENDING.value:
                row.status = OutboxStatus.FAILED.value
                row.last_error = _GONE
            row.text, row.buttons, row.chat_id, row.telegram_message_ids = "", [], 0, []
            row.email_to = row.subject = None
        else:  # a notification to an adviser about their question: their name goes
            row.text = scrubber.text(row.text)
    counts["inbox"] = _delete_inbox(session, chats, scrubber)
    # The mail they sent: kept raw in the mail inbox (addresses, text, attachments).
    mail_rows = _mail_of(session, asker)
    for received in mail_rows:
        session.delete(received)
    counts["mail_inbox"] = len(mail_rows)
    if asker.telegram_user_id is not None:  # a registration step or draft kept by the bot
        counts["conversation"] = conversations.forget_user(
            session=session, telegram_user_id=asker.telegram_user_id)
    # Help-centre links and sessions hold the address: gone with it; its actor name too.
    member_actor = f"member:{asker.email.lower()}" if asker.email else None
    # Signed in from the bot without an address, the member was named after the asker.
    telegram_member_actor = f"member:{members.member_label(email='', asker_id=asker.id)}"
    access = [MemberLink.asker_id == asker.id]
    sessions_of = [MemberSession.asker_id == asker.id]
    if asker.email:
        access.append(func.lower(MemberLink.email) == asker.email.lower())
        sessions_of.append(func.lower(MemberSession.email) == asker.email.lower())
    counts["member_access"] = (_deleted(session, delete(MemberLink).where(or_(*access)))
                               + _deleted(session, delete(MemberSession).where(
                                   or_(*sessions_of))))
    asker.full_name = asker.email = asker.telegram_username = None
    asker.telegram_user_id = asker.chat_id = None
    asker.digest_subscribed = False
    asker.status = AskerStatus.ERASED.value
    asker.decided_at = utcnow()
    asker.decided_by = actor
    new_actor = f"asker:{asker.id}"
    renamed = {name: new_actor for name in (old_actor, member_actor, telegram_member_actor)
               if name is not None}
    if renamed:
        counts["actors"] = sum(_rename_actor(session, name, new_actor) for name in renamed)
    session.flush()
    counts["audit"] = _redact_audit(session, scrubber, renamed)
    audit.record(session=session, actor=actor, action="asker.erase", object_type="asker",
                 object_id=asker.id, details={"counts": counts})
    logger.info("asker %s erased by %s: %s", asker.id, actor, counts)
    return Erasure(counts=counts)


def erase_adviser(*, session: Session, user_id: int, actor_user_id: int | None,
                  actor: str) -> Erasure:
    """Erase an adviser's account data; the answers they wrote stay, signed by nobody."""
    user = advisers.get(session=session, user_id=user_id)
    if user.id == actor_user_id:
        raise Forbidden("Vous ne pouvez pas effacer votre propre compte.")
    if user.login.startswith("efface-"):
        raise Conflict("Les données de ce compte ont déjà été effacées.")
    scrubber = Scrubber(identifiers_of(user))
    login = user.login
    new_login = f"efface-{user.id}"
    counts: dict[str, int] = {}
    counts["actors"] = (_rename_actor(session, f"user:{login}", f"user:{new_login}")
                        + _rename_actor(session, login, new_login))
    chat = user.telegram_chat_id
    mine = [Outbox.user_id == user.id] + ([Outbox.chat_id == chat] if chat is not None else [])
    outbox_rows = list(session.scalars(select(Outbox).where(or_(*mine))))
    for row in outbox_rows:
        if row.status == OutboxStatus.PENDING.value:
            row.status = OutboxStatus.FAILED.value
            row.last_error = _GONE
        row.text, row.buttons, row.chat_id, row.telegram_message_ids = "", [], 0, []
        row.email_to = row.subject = None
    counts["outbox"] = len(outbox_rows)
    # Answers already sent keep their text; their signature names the adviser: scrub it.
    for row in session.scalars(select(Outbox).where(Outbox.created_by == f"user:{new_login}")):
        row.text = scrubber.text(row.text)
    # The thread keeps each answer as sent, signature included: scrubbed the same way.
    for message in session.scalars(select(TicketMessage).where(
            TicketMessage.user_id == user.id)):
        message.text = scrubber.text(message.text)
    counts["sessions"] = _deleted(session, delete(WebSession).where(
        WebSession.user_id == user.id))
    counts["login_attempts"] = _deleted(session, delete(LoginAttempt).where(
        LoginAttempt.login == login))
    counts["login_throttles"] = _deleted(session, delete(LoginThrottle).where(
        LoginThrottle.key.contains(login, autoescape=True)))
    _deleted(session, delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    # Personal API tokens die with the account (their names may name the person).
    counts["api_tokens"] = _deleted(session, delete(ApiToken).where(ApiToken.user_id == user.id))
    _deleted(session, delete(ImportUpload).where(ImportUpload.user_id == user.id))
    user.login = new_login
    user.display_name = ERASED_ADVISER
    user.password_hash = "!" + secrets.token_hex(16)  # no password can match
    user.active = False
    user.telegram_chat_id = None
    user.email, user.email_notifications = None, []
    user.telegram_link_code = None
    user.telegram_link_expires_at = None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()
    counts["audit"] = _redact_audit(session, scrubber, {f"user:{login}": f"user:{new_login}",
                                                        login: new_login})
    audit.changes(session, "user", user.id)  # their before/after would name them: dropped
    audit.record(session=session, actor=actor, action="user.erase", object_type="user",
                 object_id=user.id, details={"counts": counts})
    logger.info("account %s erased by %s: %s", user.id, actor, counts)
    return Erasure(counts=counts)


def _deleted(session: Session, statement: Any) -> int:
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
