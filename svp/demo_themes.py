"""Themes of the demo entries: service-public.fr files them all under "Logement"; the demo
maps each one onto the association's list by the words of its question."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.catalog import themes
from knowledge.store.models import KnowledgeEntry
from knowledge.text import fold

# First matching rule wins; the last theme is the default.
RULES = (
    ("Management et RH", ("concierge", "gardien", "salaire")),
    ("Copropriété", ("copropri", "syndic", "tantieme", "assemblee generale")),
    ("Fiscalité (TFPB)", ("tva", "taxe", "imposable", "cadastre")),
    ("Vente Hlm", ("vente", "vendre", "acheter", "achat", "viager", "preempt", "revendre",
                   "acte de propriete", "prix au m", "renseignements immobiliers")),
    ("Relations avec les locataires", ("voisin", "barbecue", "attroupement", "nuisances",
                                       "animaux", "cles", "droit de visite", "conciliation",
                                       "recours", "litige", "mediateur", "fenetres",
                                       "huissier")),
    ("Accès et maintien dans le logement", (
        "logement social", "hlm", "treve hivernale", "squatt", "difficultes pour payer",
        "fonds de solidarite", "aide au logement", "allocation", "impayes", "crous",
        "logement etudiant", "mobili jeune", "loca pass", "risques locatifs", "tarif",
        "retard de paiement", "dette")),
    ("Développement de l'offre", (
        "construire", "construction", "urbanisme", "permis", "terrain", "lotissement",
        "architecte", "surface de plancher", "transformer", "cloture", "abri de jardin", "puits",
        "caravane", "jacuzzi", "alignement", "micro logement", "conventionne", "anah")),
    ("Renouvellement urbain et patrimoine", (
        "travaux", "insalubre", "peril", "isolation", "chauffage", "chauffe", "ravalement",
        "diagnostic", "indigne", "garde corps", "surface minimum", "insonoriser",
        "degradations", "poubelle", "dechets", "debroussaill", "deneiger", "non entretenu",
        "cheminee", "eau")),
    ("Gestion locative et charges", ()),
)


def theme_of(question: str) -> str:
    """The theme of the association's list a demo question belongs to."""
    words = f" {fold(question)} "
    for theme, keys in RULES:
        if any(key in words for key in keys):
            return theme
    return RULES[-1][0]


def map_demo_themes(*, session: Session) -> None:
    """File every entry under the theme its question maps to (a relabelling, no revision)."""
    for entry in session.scalars(select(KnowledgeEntry)):
        entry.theme = themes.canonical(session=session, name=theme_of(entry.question))
