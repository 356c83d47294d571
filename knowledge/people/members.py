"""Members of the help centre: who may sign in, one-time links, and their sessions.

A member is a staff member of an active member organisation: an address on one of its
declared mail domains, or the address of an approved asker. They sign in without a password,
through a link sent to that address: single use, valid 15 minutes. Asking for a link answers
the same whether the address is known or not; the requests are throttled per address and per
network address alike, so the throttle says nothing either.

An approved asker may also get a link from the bot (`/web`), with or without an address: a
member known by their asker alone (empty `email`) stays one while that asker is approved and
their organisation active.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, InvalidInput
from knowledge.people import throttle
from knowledge.people.throttle import TooManyAttempts
from knowledge.store.member_models import MemberLink, MemberSession
from knowledge.store.models import Asker, AskerStatus, Organisation
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

LINK_MINUTES = 15
SESSION_HOURS = 12
MAX_EMAIL_CHARS = 254
# Requests for a link, known address or not, in a window of THROTTLE_MINUTES.
PER_ADDRESS = 3
PER_IP = 20
PER_ASKER = 3  # links asked from the bot by one asker in the same window
THROTTLE_MINUTES = 15
# A mail domain: two labels or more, each of letters, digits and inner hyphens.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_PATTERN = rf"{_LABEL}(?:\.{_LABEL})+"
_EMAIL = re.compile(rf"^[^@\s]{{1,64}}@(?P<domain>{_DOMAIN_PATTERN})$")
_DOMAIN = re.compile(rf"^{_DOMAIN_PATTERN}$")


@dataclass(frozen=True)
class Member:
    """Who a signed-in address is: its organisation, and the asker it is, if any."""

    email: str
    organisation_id: int
    asker_id: int | None


@dataclass(frozen=True)
class IssuedLink:
    """A link to send: the secret token (never stored) and when it stops working."""

    email: str
    token: str
    expires_at: datetime


def member_label(*, email: str, asker_id: int | None) -> str:
    """How a member is named in audit actors and feedback keys: the address, else `asker-<id>`."""
    # « asker-12 » holds no « @ »: it can never be taken for somebody's address.
    return email or f"asker-{asker_id}"


def normalise_email(value: str) -> str:
    """An address as stored and compared: trimmed, lower case; refused if malformed."""
    email = clean(value).lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise InvalidInput("Saisissez une adresse électronique valide, par exemple "
                           "prenom.nom@organisme.fr.")
    return email


def parse_domains(value: str) -> list[str]:
    """Mail domains typed one per line or separated by commas: « habitat-med.fr »."""
    found: list[str] = []
    for raw in re.split(r"[\s,;]+", value or ""):
        domain = raw.strip().lower().lstrip("@")
        if not domain:
            continue
        if not _DOMAIN.match(domain) or len(domain) > 253:
            raise InvalidInput(f"« {raw.strip()} » n'est pas un domaine de messagerie "
                               "(exemple : habitat-med.fr).")
        if domain not in found:
            found.append(domain)
    return found


def set_domains(*, session: Session, organisation_id: int, domains: list[str],
                actor: str) -> Organisation:
    """Declare the mail domains of an organisation; a domain belongs to one organisation only."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise InvalidInput("Organisme introuvable.")
    for other in session.scalars(select(Organisation).where(Organisation.id != organisation_id)):
        taken = set(other.email_domains or []) & set(domains)
        if taken:
            raise Conflict(f"Le domaine « {sorted(taken)[0]} » est déjà celui de l'organisme "
                           f"« {other.name} ».")
    if list(organisation.email_domains or []) != domains:
        organisation.email_domains = domains
        audit.record(session=session, actor=actor, action="organisation.domains",
                     object_type="organisation", object_id=organisation.id,
                     details={"domains": domains})
    return organisation


def identify(*, session: Session, email: str) -> Member | None:
    """The member an address is (approved asker first, then a declared domain), or None."""
    asker = session.scalars(
        select(Asker).join(Organisation, Asker.organisation_id == Organisation.id)
        .where(func.lower(Asker.email) == email, Asker.status == AskerStatus.APPROVED.value,
               Organisation.active.is_(True))
        .order_by(Asker.id).limit(1)).first()
    if asker is not None and asker.organisation_id is not None:
        return Member(email=email, organisation_id=asker.organisation_id, asker_id=asker.id)
    domain = email.rsplit("@", 1)[1]
    for organisation in session.scalars(select(Organisation).where(
            Organisation.active.is_(True)).order_by(Organisation.id)):
        if domain in (organisation.email_domains or []):
            return Member(email=email, organisation_id=organisation.id, asker_id=None)
    return None


def identify_asker(*, session: Session, asker_id: int) -> Member | None:
    """The member an approved asker of an active organisation is, known without an address."""
    asker = session.get(Asker, asker_id)
    if asker is None or asker.status != AskerStatus.APPROVED.value \
            or asker.organisation_id is None:
        return None
    organisation = session.get(Organisation, asker.organisation_id)
    if organisation is None or not organisation.active:
        return None
    return Member(email="", organisation_id=organisation.id, asker_id=asker.id)


def _still_member(session: Session, *, email: str, asker_id: int | None) -> Member | None:
    """Who a link or a session still is: None once they are no longer that member."""
    # An address names the member (as when the link was mailed); without one, the asker alone.
    if email:
        member = identify(session=session, email=email)
    else:
        member = identify_asker(session=session, asker_id=asker_id) \
            if asker_id is not None else None
    # Signed in as an asker, always that asker: once refused, a declared domain does not
    # carry the session on under the same address.
    if member is not None and asker_id is not None and member.asker_id != asker_id:
        return None
    return member


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def request_link(*, session: Session, email: str, ip: str,
                 now: datetime | None = None) -> IssuedLink | None:
    """Issue a sign-in link for a member's address; None (same answer) for any other address.

    Raises TooManyAttempts past the limits, which apply to unknown addresses as to known ones.
    """
    now = now or utcnow()
    address = normalise_email(email)
    by_ip = throttle.count(session=session, key=f"member-ip:{ip[:64]}",
                           window_minutes=THROTTLE_MINUTES, now=now)
    by_address = throttle.count(session=session, key=f"member-address:{address}",
                                window_minutes=THROTTLE_MINUTES, now=now)
    if by_ip > PER_IP or by_address > PER_ADDRESS:
        logger.warning("sign-in link refused from %s: too many requests", ip)
        raise TooManyAttempts("Trop de demandes de lien de connexion. Veuillez patienter "
                              f"{THROTTLE_MINUTES} minutes avant de réessayer.")
    member = identify(session=session, email=address)
    if member is None:
        logger.info("sign-in link asked for an address of no member, from %s", ip)
        return None
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=LINK_MINUTES)
    session.add(MemberLink(token_hash=_digest(token), email=address,
                           organisation_id=member.organisation_id, asker_id=member.asker_id,
                           created_at=now, expires_at=expires_at, ip=ip[:64]))
    return IssuedLink(email=address, token=token, expires_at=expires_at)


def link_for_asker(*, session: Session, asker_id: int,
                   now: datetime | None = None) -> IssuedLink:
    """Issue a sign-in link for an approved Telegram asker (the bot's `/web`).

    The link signs in by the asker's address when that address names them, else by the asker
    alone (empty `email`). Raises InvalidInput for anyone else, TooManyAttempts past
    PER_ASKER links in THROTTLE_MINUTES.
    """
    now = now or utcnow()
    member = identify_asker(session=session, asker_id=asker_id)
    if member is None:
        raise InvalidInput("Le centre d'aide est réservé aux demandeurs validés d'un organisme "
                           "adhérent.")
    by_asker = throttle.count(session=session, key=f"member-asker:{asker_id}",
                              window_minutes=THROTTLE_MINUTES, now=now)
    if by_asker > PER_ASKER:
        logger.warning("sign-in link refused to asker %s: too many requests", asker_id)
        raise TooManyAttempts("Vous avez demandé plusieurs liens de connexion en peu de temps. "
                              f"Veuillez patienter {THROTTLE_MINUTES} minutes avant d'en "
                              "demander un autre.")
    asker = session.get(Asker, asker_id)
    email = ""
    if asker is not None and asker.email:
        # The same member an emailed link would sign in, when the address is theirs alone.
        by_address = identify(session=session, email=asker.email.lower())
        if by_address is not None and by_address.asker_id == asker_id:
            email = by_address.email
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=LINK_MINUTES)
    session.add(MemberLink(token_hash=_digest(token), email=email,
                           organisation_id=member.organisation_id, asker_id=asker_id,
                           created_at=now, expires_at=expires_at, ip=None))
    logger.info("sign-in link issued to asker %s from the bot", asker_id)
    return IssuedLink(email=email, token=token, expires_at=expires_at)


def link_is_live(*, session: Session, token: str, now: datetime | None = None) -> bool:
    """Whether a link's token can still sign in (read only: opening the link uses nothing)."""
    if not token or len(token) > 200:
        return False
    link = session.scalars(select(MemberLink).where(
        MemberLink.token_hash == _digest(token))).first()
    return (link is not None and link.used_at is None
            and link.expires_at > (now or utcnow()))


def redeem(*, session: Session, token: str, ip: str,
           now: datetime | None = None) -> tuple[str, MemberSession]:
    """Open a session with a link's token, once: return the session's own token and row."""
    now = now or utcnow()
    refused = InvalidInput("Ce lien de connexion n'est plus valable : il a déjà servi ou a "
                           "expiré (il vaut 15 minutes). Demandez-en un nouveau.")
    if not token or len(token) > 200:
        raise refused
    digest = _digest(token)
    # One statement marks the link used: of two clicks at once, only one gets the session.
    used = session.execute(
        update(MemberLink)
        .where(MemberLink.token_hash == digest, MemberLink.used_at.is_(None),
               MemberLink.expires_at > now)
        .values(used_at=now))
    if int(getattr(used, "rowcount", 0) or 0) != 1:
        raise refused
    link = session.scalars(select(MemberLink).where(MemberLink.token_hash == digest)).one()
    member = _still_member(session, email=link.email, asker_id=link.asker_id)
    if member is None:  # the organisation left, or the asker was refused, since the link
        raise refused
    session_token = secrets.token_urlsafe(32)
    row = MemberSession(id=_digest(session_token), email=member.email,
                        organisation_id=member.organisation_id, asker_id=member.asker_id,
                        csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                        expires_at=now + timedelta(hours=SESSION_HOURS))
    session.add(row)
    label = member_label(email=member.email, asker_id=member.asker_id)
    audit.record(session=session, actor=f"member:{label}", action="member.sign_in",
                 object_type="organisation", object_id=member.organisation_id,
                 details={"ip": ip[:64]})
    logger.info("member of organisation %s signed in from %s", member.organisation_id, ip)
    return session_token, row


def resolve(*, session: Session, token: str | None,
            now: datetime | None = None) -> MemberSession | None:
    """The live session of a cookie's token (its member still a member), or None."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.get(MemberSession, _digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if _still_member(session, email=row.email, asker_id=row.asker_id) is None:
        row.revoked_at = now  # no longer a member: the session ends with the membership
        return None
    row.last_seen_at = now
    return row


def sign_out(*, session: Session, token: str | None, now: datetime | None = None) -> None:
    """End a member's session (nothing happens for an unknown token)."""
    if not token or len(token) > 200:
        return
    row = session.get(MemberSession, _digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()


def purge(*, session: Session, older_than: datetime) -> int:
    """Delete links and sessions that ended before a date; return how many rows went."""
    links = session.execute(delete(MemberLink).where(MemberLink.expires_at < older_than))
    sessions = session.execute(delete(MemberSession).where(MemberSession.expires_at < older_than))
    return int(getattr(links, "rowcount", 0) or 0) + int(getattr(sessions, "rowcount", 0) or 0)


def ensure_asker(*, session: Session, member_session: MemberSession) -> int:
    """The asker a member asks as: theirs, or one made for their address on their first question.

    A member known only by a declared domain becomes an approved asker of their organisation,
    without Telegram: their questions and answers are followed in the help centre.
    """
    if member_session.asker_id is not None:
        return member_session.asker_id
    if not member_session.email:  # signed in from the bot: always as their asker
        raise InvalidInput("Votre session n'est plus valable : reconnectez-vous.")
    member = identify(session=session, email=member_session.email)
    if member is None:
        raise InvalidInput("Votre adresse n'est plus celle d'un organisme adhérent.")
    asker_id = member.asker_id
    if asker_id is None:
        now = utcnow()
        asker = Asker(email=member.email, organisation_id=member.organisation_id,
                      status=AskerStatus.APPROVED.value, consent_at=now, created_at=now,
                      decided_at=now, decided_by="centre d'aide")
        session.add(asker)
        session.flush()
        asker_id = asker.id
        audit.record(session=session, actor=f"member:{member.email}", action="asker.web",
                     object_type="asker", object_id=asker_id,
                     details={"organisation_id": member.organisation_id})
    # Every open session of that address now asks as this asker.
    session.execute(update(MemberSession).where(MemberSession.email == member.email,
                                                MemberSession.asker_id.is_(None))
                    .values(asker_id=asker_id))
    member_session.asker_id = asker_id
    return asker_id
