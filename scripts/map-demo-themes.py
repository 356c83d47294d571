"""Map the demo entries' themes (all "Logement" on service-public.fr) onto the association's
list, by keywords of the question; rewrite knowledge/data/demo-kb.jsonl in place.

Run from the repository root: python scripts/map-demo-themes.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.text import fold

FILE = Path("knowledge/data/demo-kb.jsonl")
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
    """The theme of the list a demo question belongs to."""
    words = f" {fold(question)} "
    for theme, keys in RULES:
        if any(key in words for key in keys):
            return theme
    return RULES[-1][0]


def main() -> None:
    """Rewrite the file with mapped themes and print the count per theme."""
    rows = [json.loads(line) for line in FILE.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["theme"] = theme_of(row["question"])
    FILE.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    for theme, count in Counter(row["theme"] for row in rows).most_common():
        print(f"{count:>4}  {theme}")


if __name__ == "__main__":
    main()
