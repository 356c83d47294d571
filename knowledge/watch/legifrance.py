"""Links to Légifrance for a legal reference: the article, the code, the text or a search."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from knowledge.errors import InvalidInput
from knowledge.watch.references import CODES, LegalReference

BASE = "https://www.legifrance.gouv.fr/"
_ARTICLE_ID = re.compile(r"(?:LEGI|JORF)ARTI\d{12}")


def url_for(reference: LegalReference, *, article_id: str | None = None) -> str:
    """The Légifrance page that best shows a reference (article, code, text, else a search)."""
    if article_id is not None and not _ARTICLE_ID.fullmatch(article_id):
        raise InvalidInput(f"Identifiant d'article Légifrance invalide : {article_id!r} "
                           "(attendu : LEGIARTI suivi de 12 chiffres).")
    if reference.kind == "article" and article_id is not None:
        space = "codes" if reference.code else "loda"
        return f"{BASE}{space}/article_lc/{article_id}"
    code = CODES.get(reference.code) if reference.code else None
    if reference.kind == "article" and code is not None:
        return f"{BASE}codes/texte_lc/{code.cid}"
    if reference.kind == "text" and reference.cid is not None:
        return f"{BASE}jorf/id/{reference.cid}"
    query = urlencode({"tab_selection": "all", "searchField": "ALL", "query": reference.label})
    return f"{BASE}search/all?{query}"
