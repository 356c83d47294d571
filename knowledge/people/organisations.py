"""Member organisations: create, list, rename, deactivate, and their invite codes."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.store.models import Organisation, OrganisationKind
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

_KIND_ALIASES = {
    "oph": OrganisationKind.OPH,
    "esh": OrganisationKind.ESH,
    "cooperative": OrganisationKind.COOPERATIVE,
    "coopérative": OrganisationKind.COOPERATIVE,
    "coop": OrganisationKind.COOPERATIVE,
    "sem": OrganisationKind.SEM,
    "association": OrganisationKind.ASSOCIATION,
    "autre": OrganisationKind.AUTRE,
}


def parse_kind(value: str) -> OrganisationKind:
    """Read an organisation kind from French text; raise InvalidInput when unknown."""
    kind = _KIND_ALIASES.get(clean(value).casefold())
    if kind is None:
        choices = ", ".join(k.label for k in OrganisationKind)
        raise InvalidInput(f"Type d'organisme inconnu : « {value} » (valeurs : {choices}).")
    return kind


def parse_departement(value: str | None) -> str | None:
    """Validate a French département code (01-95, 2A, 2B, 971-976)."""
    if value is None or not clean(value):
        return None
    code = clean(value).upper()
    if not code.isascii():  # "²".isdigit() is true, and int() refuses it
        raise InvalidInput(f"Code de département invalide : « {value} ».")
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    valid = (
        (code.isdigit() and len(code) == 2 and 1 <= int(code) <= 95 and code != "20")
        or code in {"2A", "2B"}
        or (code.isdigit() and len(code) == 3 and 971 <= int(code) <= 976)
    )
    if not valid:
        raise InvalidInput(f"Code de département invalide : « {value} ».")
    return code


DEPARTEMENT_MISSING = ("Indiquez le département de l'organisme (ex. 13, 2A, 974) : les "
                       "statistiques par département en ont besoin.")


def required_departement(value: str | None) -> str:
    """Validate a département that must be given; refuse it missing, with a French message."""
    code = parse_departement(value)
    if code is None:
        raise InvalidInput(DEPARTEMENT_MISSING)
    return code


def create(*, session: Session, name: str, kind: OrganisationKind, departement: str | None,
           actor: str) -> Organisation:
    """Create a member organisation (its département is required)."""
    name = clean(name)
    if not name:
        raise InvalidInput("Le nom de l'organisme est vide.")
    code = required_departement(departement)
    if find_by_name(session=session, name=name) is not None:
        raise Conflict(f"L'organisme « {name} » existe déjà.")
    organisation = Organisation(name=name, kind=kind.value, departement=code, active=True,
                                created_at=utcnow())
    session.add(organisation)
    session.flush()
    audit.record(session=session, actor=actor, action="organisation.create",
                 object_type="organisation", object_id=organisation.id)
    return organisation


def get(*, session: Session, organisation_id: int) -> Organisation:
    """Return an organisation or raise NotFound."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    return organisation


def find_by_name(*, session: Session, name: str) -> Organisation | None:
    """Return the organisation with this name (case-insensitive), if any."""
    return session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == clean(name).lower())
    )


def get_by_name(*, session: Session, name: str) -> Organisation:
    """Return the organisation with this name or raise NotFound."""
    organisation = find_by_name(session=session, name=name)
    if organisation is None:
        raise NotFound("organisation", name)
    return organisation


def without_departement(*, session: Session) -> list[Organisation]:
    """Organisations recorded before the département was required and still without one."""
    return list(session.scalars(select(Organisation).where(
        (Organisation.departement.is_(None)) | (Organisation.departement == ""))
        .order_by(Organisation.name)))


def list_organisations(*, session: Session, active_only: bool = False) -> list[Organisation]:
    """List organisations by name."""
    query = select(Organisation).order_by(Organisation.name)
    if active_only:
        query = query.where(Organisation.active.is_(True))
    return list(session.scalars(query))


def update(*, session: Session, organisation_id: int, name: str, kind: OrganisationKind,
           departement: str | None, active: bool, actor: str) -> Organisation:
    """Change an organisation's name, kind, département or active flag (a département stays
    required: a row without one gets it at its next change)."""
    organisation = get(session=session, organisation_id=organisation_id)
    name = clean(name)
    if not name:
        raise InvalidInput("Le nom de l'organisme est vide.")
    code = required_departement(departement)
    other = find_by_name(session=session, name=name)
    if other is not None and other.id != organisation.id:
        raise Conflict(f"L'organisme « {name} » existe déjà.")
    organisation.name = name
    organisation.kind = kind.value
    organisation.departement = code
    organisation.active = active
    audit.record(session=session, actor=actor, action="organisation.update",
                 object_type="organisation", object_id=organisation.id)
    return organisation


def new_invite_code(*, session: Session, organisation_id: int, actor: str) -> str:
    """Give an organisation a fresh invite code (the previous one stops working)."""
    organisation = get(session=session, organisation_id=organisation_id)
    if not organisation.active:
        raise Conflict(f"L'organisme « {organisation.name} » est désactivé.")
    code = _draw_invite_code()
    organisation.invite_code = code
    organisation.invite_code_created_at = utcnow()
    audit.record(session=session, actor=actor, action="organisation.invite",
                 object_type="organisation", object_id=organisation.id)
    logger.info("new invite code for organisation %s by %s", organisation.id, actor)
    return code


def find_by_invite_code(*, session: Session, code: str) -> Organisation | None:
    """Return the active organisation this invite code belongs to, if any."""
    if not code:
        return None
    # Codes made before they were dictatable are compared as they are.
    candidates = {code, normalise_invite_code(code)} - {""}
    return session.scalar(select(Organisation).where(
        Organisation.invite_code.in_(candidates), Organisation.active.is_(True)))


# Read aloud over the phone or copied from a letter: capitals and digits only, none that look
# alike (no 0/O, 1/I/L, 5/S, 2/Z, 8/B), in groups of four: 12 characters of 25, 55 bits.
INVITE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
_INVITE_GROUPS = 3
_INVITE_GROUP_CHARS = 4


def _draw_invite_code() -> str:
    raw = "".join(secrets.choice(INVITE_ALPHABET)
                  for _ in range(_INVITE_GROUPS * _INVITE_GROUP_CHARS))
    return "-".join(raw[start:start + _INVITE_GROUP_CHARS]
                    for start in range(0, len(raw), _INVITE_GROUP_CHARS))


def normalise_invite_code(text: str) -> str:
    """The stored form of a code as typed: case, spaces and dashes do not matter."""
    raw = "".join(character for character in text.upper() if character.isalnum())
    if len(raw) != _INVITE_GROUPS * _INVITE_GROUP_CHARS:
        return ""
    return "-".join(raw[start:start + _INVITE_GROUP_CHARS]
                    for start in range(0, len(raw), _INVITE_GROUP_CHARS))
