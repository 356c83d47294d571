"""Test doubles shared by the unit tests of other layers (never the only test of a path)."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+", re.UNICODE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class FakeEmbedder:
    """A deterministic bag-of-words embedder: texts sharing words get close vectors.

    Each folded word (accents and case ignored, 3 letters or more) adds a pseudo-random unit
    direction; queries and passages share one space. Fast, no model, same output everywhere.
    """

    def __init__(self, dim: int = 64, model_id: str = "fake-bow-64") -> None:
        self.dim = dim
        self.model_id = model_id
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def _word_vector(self, word: str) -> npt.NDArray[np.float32]:
        seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def _embed(self, texts: Sequence[str], kind: str) -> npt.NDArray[np.float32]:
        with self._lock:
            self.calls.append((kind, len(texts)))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w for w in _WORD.findall(_fold(text)) if len(w) >= 3] or ["<vide>"]
            for word in words:
                out[row] += self._word_vector(word)
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-12)
        return out

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed queries (same space as passages)."""
        return self._embed(texts, "query")

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed passages (same space as queries)."""
        return self._embed(texts, "passage")


# Short housing entries (question, answer): quick to embed with the real model.
HOUSING_ENTRIES: list[tuple[str, str]] = [
    ("Qui paie la taxe d'enlèvement des ordures ménagères ?",
     "Le propriétaire paie la TEOM avec la taxe foncière, puis peut la récupérer auprès du "
     "locataire dans les charges locatives."),
    ("Quel est le délai de préavis pour quitter un logement vide ?",
     "Le locataire d'un logement vide donne un préavis de trois mois, réduit à un mois en zone "
     "tendue ou en cas de mutation, de perte d'emploi ou de raison de santé."),
    ("Quand commence la trêve hivernale des expulsions ?",
     "Aucune expulsion locative ne peut être exécutée du 1er novembre au 31 mars de l'année "
     "suivante, sauf si un relogement est assuré."),
    ("Comment est calculé le supplément de loyer de solidarité ?",
     "Le SLS est dû par le locataire d'un logement social dont les revenus dépassent d'au moins "
     "20 % les plafonds de ressources ; son montant dépend du dépassement et de la surface."),
    ("Le bailleur peut-il garder le dépôt de garantie ?",
     "Le dépôt de garantie est rendu dans un délai d'un mois si l'état des lieux de sortie est "
     "conforme, de deux mois sinon, déduction faite des sommes justifiées."),
    ("Qui doit faire les petites réparations dans le logement ?",
     "Le locataire prend en charge l'entretien courant et les menues réparations (joints, "
     "ampoules, robinets) ; les grosses réparations incombent au propriétaire."),
    ("Comment contester un refus de la commission d'attribution des logements ?",
     "Le demandeur dont la demande de logement social est refusée peut former un recours "
     "gracieux auprès du bailleur, puis saisir le tribunal administratif."),
    ("Un locataire peut-il sous-louer son logement social ?",
     "La sous-location d'un logement social est interdite, sauf exceptions prévues par la loi, "
     "comme l'accueil d'une personne âgée ou handicapée."),
]

OFF_TOPIC_QUERIES: list[str] = [
    "Quelle est la recette de la ratatouille ?",
    "Qui a gagné la coupe du monde de football en 2018 ?",
    "Comment changer la batterie de mon téléphone portable ?",
]
