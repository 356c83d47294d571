"""Légifrance links: an article by id, a code, a text by id, otherwise a search."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from knowledge.errors import InvalidInput
from knowledge.watch.legifrance import url_for
from knowledge.watch.references import (
    LegalReference,
    TextNames,
    load_text_names,
    parse_reference_field,
)


@pytest.fixture(scope="module")
def names() -> TextNames:
    return load_text_names()


def reference(text: str, names: TextNames) -> LegalReference:
    [found] = parse_reference_field(text, names=names)
    return found


def test_a_code_article_with_an_id_links_to_the_article(names: TextNames) -> None:
    url = url_for(reference("CCH art. L441-1", names), article_id="LEGIARTI000038814834")
    assert url == "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000038814834"


def test_a_law_article_with_an_id_links_to_the_loda_article(names: TextNames) -> None:
    url = url_for(reference("article 25 de la loi du 6 juillet 1989", names),
                  article_id="LEGIARTI000006475116")
    assert url == "https://www.legifrance.gouv.fr/loda/article_lc/LEGIARTI000006475116"


def test_a_code_article_without_an_id_links_to_the_code(names: TextNames) -> None:
    assert url_for(reference("art. 1240 du code civil", names)) == (
        "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000006070721")


def test_a_known_text_links_to_its_jorf_page(names: TextNames) -> None:
    assert url_for(reference("loi ELAN", names)) == (
        "https://www.legifrance.gouv.fr/jorf/id/JORFTEXT000037639478")


@pytest.mark.parametrize("text", ["arrêté du 29 mai 2019", "loi Besson",
                                  "article 25 de la loi du 6 juillet 1989"])
def test_anything_else_is_a_search_for_the_label(names: TextNames, text: str) -> None:
    found = reference(text, names)
    url = urlsplit(url_for(found))
    assert (url.scheme, url.netloc, url.path) == ("https", "www.legifrance.gouv.fr", "/search/all")
    assert parse_qs(url.query) == {"tab_selection": ["all"], "searchField": ["ALL"],
                                   "query": [found.label]}


def test_a_malformed_article_id_is_refused(names: TextNames) -> None:
    with pytest.raises(InvalidInput, match="LEGIARTI"):
        url_for(reference("CCH art. L441-1", names), article_id="../../evil.example")
