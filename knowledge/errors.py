"""Domain errors raised by the services; the edges turn them into messages or pages."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose; its message is French, for people."""


class NotFound(DomainError):
    """The object asked for does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{_KIND_FR.get(kind, kind)} introuvable : {key}")


class Conflict(DomainError):
    """The change clashes with the current state (duplicate, wrong status, stale version)."""


class Forbidden(DomainError):
    """The actor may not do this."""


class InvalidInput(DomainError):
    """A value given by a person is not acceptable; the message says which and why."""


_KIND_FR = {
    "entry": "Fiche",
    "ticket": "Question",
    "organisation": "Organisme",
    "asker": "Demandeur",
    "user": "Compte",
    "outbox": "Message",
    "theme": "Thème",
    "revision": "Révision",
    "import": "Import en attente",
    "glossary_term": "Terme du glossaire",
    "phrasing": "Formulation",
    "api_token": "Jeton d'accès",
}
