"""Bodies the JSON API reads and writes, with the examples of its OpenAPI schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from knowledge.store.db import MAX_ROW_ID


def _encodable(value: str) -> str:
    # JSON may carry lone surrogates ("\ud800") that no database can store: refused here.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("texte illisible (caractère invalide)") from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Numéro (entier positif).")]
EntryRef = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]

_STRICT = ConfigDict(extra="forbid")


class EntryOut(BaseModel):
    """A knowledge-base entry as it is now."""

    id: int
    external_id: str | None
    question: str
    answer: str
    theme: str | None
    tags: list[str]
    legal_references: list[str]
    source: str | None
    status: Literal["active", "retired"]
    review_by: date | None
    revision: int
    created_at: datetime
    updated_at: datetime

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 12, "external_id": None,
        "question": "Le SLS est-il dû par un locataire de plus de 65 ans ?",
        "answer": "Non, sauf s'il occupe un logement en zone tendue et…", "theme": "SLS",
        "tags": ["SLS"], "legal_references": ["CCH art. L441-3"], "source": None,
        "status": "active", "review_by": "2027-11-26", "revision": 2,
        "created_at": "2026-01-15T09:30:00Z", "updated_at": "2026-11-26T10:02:00Z"}]})


class EntryPage(BaseModel):
    """A page of entries; `next_cursor` (when not null) gives the next page."""

    items: list[EntryOut]
    next_cursor: str | None = Field(examples=["eyJhZnRlciI6IDUwfQ"])


class RevisionOut(BaseModel):
    """One revision of an entry's text (1 is the creation)."""

    revision: int
    question: str
    answer: str
    theme: str | None
    status: str
    actor: str
    reason: str | None
    minor: bool
    changed_at: datetime

    model_config = ConfigDict(from_attributes=True)


class PhrasingOut(BaseModel):
    """Another way of asking what the entry answers, learnt from a validated answer."""

    id: int
    text: str
    source: str
    ticket_id: int | None

    model_config = ConfigDict(from_attributes=True)


class ReferenceOut(BaseModel):
    """A legal reference of an entry: as written, and normalised with its Légifrance link
    when the parser recognises it (else `label` and `url` are null)."""

    text: str
    label: str | None = Field(examples=["CCH art. L441-1"])
    url: str | None = Field(examples=[
        "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000038835418"])


class LegalFlagOut(BaseModel):
    """A change of a cited text since the entry's last verification, not yet settled."""

    reference: str
    reason: str = Field(examples=["CCH art. L441-1 modifié, nouvelle version en vigueur le "
                                  "01/01/2027"])
    effective_on: date | None
    created_at: datetime


class EntryDetail(EntryOut):
    """An entry with its revisions, phrasings, linked references and regulatory flags."""

    revisions: list[RevisionOut]
    phrasings: list[PhrasingOut]
    references: list[ReferenceOut] = []
    legal_flags: list[LegalFlagOut] = []


class EntryCreate(BaseModel):
    """A new entry."""

    question: Text = Field(max_length=10_000)
    answer: Text = Field(max_length=200_000)
    theme: Text | None = Field(default=None, max_length=1_000, description="Un thème de la "
                               "liste (GET /api/v1/themes) ; un thème inconnu est refusé (422).")
    tags: list[Annotated[Text, Field(max_length=200)]] = Field(default=[], max_length=50)
    legal_references: list[Annotated[Text, Field(max_length=2_000)]] = Field(
        default=[], max_length=100)
    source: Text | None = Field(default=None, max_length=2_000)
    review_by: date | None = None
    external_id: Text | None = Field(default=None, max_length=1_000)
    confirm_duplicate: bool = Field(default=False, description="Créer malgré des fiches très "
                                    "proches (sinon 409 avec les candidates).")
    confirm_personal_data: bool = Field(default=False, description="Publier malgré des "
                                        "données personnelles repérées (sinon 409, code "
                                        "conflict, avec les constats).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "Qui paie la taxe d'enlèvement des ordures ménagères ?",
        "answer": "Le bailleur la paie puis la récupère sur le locataire (charges).",
        "theme": "Gestion locative et charges", "legal_references": ["Décret n° 87-713"]}]})


class EntryChange(BaseModel):
    """The fields to change (the others keep their value); saved as a new revision."""

    question: Text | None = Field(default=None, max_length=10_000)
    answer: Text | None = Field(default=None, max_length=200_000)
    theme: Text | None = Field(default=None, max_length=1_000, description="Un thème de la "
                               "liste (GET /api/v1/themes) ; un thème inconnu est refusé (422).")
    tags: list[Annotated[Text, Field(max_length=200)]] | None = Field(default=None,
                                                                      max_length=50)
    legal_references: list[Annotated[Text, Field(max_length=2_000)]] | None = Field(
        default=None, max_length=100)
    source: Text | None = Field(default=None, max_length=2_000)
    review_by: date | None = None
    reason: Text | None = Field(default=None, max_length=500,
                                description="Motif de la révision (historique).")
    minor: bool = Field(default=False, description="Retouche de forme : les demandeurs "
                        "ne sont pas concernés.")
    confirm_personal_data: bool = Field(default=False, description="Enregistrer malgré des "
                                        "données personnelles repérées (sinon 409, code "
                                        "conflict, avec les constats).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "answer": "Réponse mise à jour après la loi du…", "reason": "loi modifiée"}]})


class Retirement(BaseModel):
    """Why an entry is withdrawn from suggestions."""

    reason: Text | None = Field(default=None, max_length=500)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "dispositif supprimé"}]})


class PassageOut(BaseModel):
    """The passage of a hit's answer closest to the question, with its offsets."""

    text: str = Field(description="Le passage, en phrases entières : `answer[start:end]`.")
    start: int = Field(description="Position du premier caractère dans `answer`.")
    end: int = Field(description="Position qui suit le dernier caractère (exclue).")
    score: float = Field(description="Proximité du passage avec la question (plus haut = plus "
                         "proche) ; ne change pas le classement des fiches.")
    from_question: bool = Field(description="Vrai quand c'est la question de la fiche qui "
                                "ressemble le plus : le passage est alors le début de la "
                                "réponse.")

    model_config = ConfigDict(from_attributes=True)


class HitOut(BaseModel):
    """An entry found by the search, with its score (higher is closer) and closest passage."""

    entry_id: int
    external_id: str | None
    question: str
    answer: str
    theme: str | None
    source: str | None
    score: float
    passage: PassageOut | None = Field(default=None, description="Le passage de la réponse "
                                       "le plus proche de la question (absent tant que les "
                                       "passages de la fiche ne sont pas calculés).")

    model_config = ConfigDict(from_attributes=True)


class SearchOut(BaseModel):
    """The engine's ranked entries for a question, and whether it abstains."""

    query: str
    abstained: bool = Field(description="Vrai quand aucune fiche n'atteint le seuil : le bot "
                            "n'en proposerait aucune.")
    threshold: float
    hits: list[HitOut]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "query": "surloyer locataire âgé", "abstained": False, "threshold": 0.86,
        "hits": [{"entry_id": 12, "external_id": None,
                  "question": "Le SLS est-il dû par un locataire de plus de 65 ans ?",
                  "answer": "Non, sauf…", "theme": "SLS", "source": None, "score": 0.91,
                  "passage": {"text": "Non, sauf…", "start": 0, "end": 10, "score": 0.88,
                              "from_question": False}}]}]})


class TicketOut(BaseModel):
    """A question of the queue."""

    id: int
    status: str
    text: str
    theme: str | None
    organisation: str | None
    assigned_to: str | None = Field(description="Identifiant du conseiller chargé.")
    entry_id: int | None
    age_days: int = Field(description="Jours ouvrés d'attente (jusqu'à la réponse).")
    badge: Literal["ok", "soon", "late", "done"]
    created_at: datetime
    updated_at: datetime
    answered_at: datetime | None


class TicketPage(BaseModel):
    """A page of the queue, oldest first."""

    items: list[TicketOut]
    total: int
    page: int
    pages: int


class MessageOut(BaseModel):
    """A message of a ticket's thread (question, answer, internal note...)."""

    id: int
    author: str
    kind: str
    text: str
    user_id: int | None
    created_at: datetime

    model_config = ConfigDict(from_attributes=True)


class DeliveryOut(BaseModel):
    """A message sent (or to send) to the asker through Telegram."""

    id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None

    model_config = ConfigDict(from_attributes=True)


class TicketDetail(TicketOut):
    """A ticket with its thread, deliveries and the closest entries."""

    messages: list[MessageOut]
    deliveries: list[DeliveryOut]
    suggestions: list[HitOut]
    suggestions_error: str | None
    can_answer: bool = Field(description="Ce jeton peut répondre : jeton write, question "
                             "ouverte, non attribuée ou attribuée à son compte, ou compte "
                             "administrateur.")
    can_note: bool = Field(description="Ce jeton peut ajouter une note interne : jeton write, "
                           "sur toute question, quel que soit le conseiller chargé.")


class Answer(BaseModel):
    """The answer to a ticket, sent to the asker through the outbox, as on the ticket page."""

    answer: Text = Field(max_length=200_000)
    publication: Literal["new", "update", "none"] = Field(
        default="none", description="new : nouvelle fiche ; update : révision de `entry_id` ; "
        "none : réponse sans publication.")
    entry_id: EntryRef | None = Field(default=None, description="Fiche révisée (update) ou "
                                      "reprise telle quelle (none).")
    question: Text | None = Field(default=None, max_length=10_000,
                                  description="Question reformulée pour la fiche.")
    theme: Text | None = Field(default=None, max_length=1_000, description="Un thème de la "
                               "liste (GET /api/v1/themes) ; un thème inconnu est refusé (422).")
    references: list[Annotated[Text, Field(max_length=2_000)]] = Field(default=[],
                                                                        max_length=100)
    keep_courtesy: bool = Field(default=False, description="Publier la réponse telle quelle : "
                                "sinon la fiche perd la salutation, les formules de politesse "
                                "et la signature (le demandeur reçoit toujours le texte "
                                "complet).")
    confirm_duplicate: bool = Field(default=False, description="Publier malgré des fiches "
                                    "très proches (sinon 409 avec les candidates).")
    confirm_personal_data: bool = Field(default=False, description="Publier malgré des "
                                        "données personnelles repérées (sinon 409, code "
                                        "conflict, avec les constats).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "answer": "Bonjour, le SLS n'est pas dû dans ce cas…", "publication": "new",
        "question": "Le SLS est-il dû par un locataire de plus de 65 ans ?",
        "theme": "Gestion locative et charges", "references": ["CCH art. L441-3"]}]})


class AnswerOut(BaseModel):
    """What answering wrote: the ticket's status, the entry published or revised, the message."""

    ticket_id: int
    status: str
    entry_id: int | None
    outbox_id: int | None


class Note(BaseModel):
    """An internal note (never sent to the asker)."""

    text: Text = Field(max_length=200_000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "Vérifier avec le service juridique."}]})


class Stats(BaseModel):
    """The figures of `svp stats --json` for a period and the one before it."""

    period: dict[str, str]
    previous_period: dict[str, str]
    target_days: int
    indicators: dict[str, Any]
    previous_indicators: dict[str, Any]
    months: list[dict[str, Any]]
    by_theme: list[dict[str, Any]]
    by_organisation: list[dict[str, Any]]
    by_departement: list[dict[str, Any]]
    help_centre: dict[str, Any]  # the help centre's counters per organisation, and their total
