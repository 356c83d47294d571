"""Greetings, closings and signatures dropped from an answer when it becomes an entry."""

from __future__ import annotations

import pytest

from knowledge.desk.courtesy import has_courtesy, strip_courtesy

BODY = ("Le SLS n'est pas dû par un locataire bénéficiaire de l'APL.\n\n"
        "Voir l'article L.441-3 du CCH.")
TEMPLATE = "— {prénom}, SVP de l'AR Hlm"


@pytest.mark.parametrize("greeting", [
    "Bonjour,", "Bonjour", "bonjour !", "Bonjour Madame,", "Bonjour Monsieur,",
    "Bonjour Madame Durand,", "Bonjour Monsieur Jean-Pierre Martin,", "Bonjour à vous,",
    "Madame,", "Monsieur,", "Madame, Monsieur,", "Madame la Directrice,", "Chère Madame,",
    "Cher Monsieur Dupont,", "Bonsoir,", "BONJOUR MADAME,",
])
def test_greeting_lines_are_dropped(greeting: str) -> None:
    assert strip_courtesy(f"{greeting}\n\n{BODY}") == BODY


@pytest.mark.parametrize("closing", [
    "Cordialement,", "Cordialement", "Bien cordialement,", "Très cordialement.",
    "Bien à vous,", "Sincères salutations.", "Salutations distinguées.",
    "Meilleures salutations,",
    "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.",
    "N'hésitez pas à revenir vers nous si besoin.",
    "N'hésitez pas à nous recontacter pour toute précision.",
    "Je reste à votre disposition pour tout complément d'information.",
    "Nous restons à votre disposition.", "Bonne journée,", "Belle journée à vous !",
    "En espérant avoir répondu à votre question,",
    "Cordialement, l'équipe du SVP",
])
def test_closing_formulas_are_dropped(closing: str) -> None:
    assert strip_courtesy(f"{BODY}\n\n{closing}") == BODY


def test_a_whole_letter_keeps_only_its_substance() -> None:
    letter = (f"Bonjour Madame Martin,\n\n{BODY}\n\nN'hésitez pas à revenir vers nous.\n\n"
              "Bien cordialement,\nCamille Durand\nChargée de mission\nAR Hlm Paca & Corse")
    assert strip_courtesy(letter, signatures=["— Camille, SVP de l'AR Hlm"]) == BODY


@pytest.mark.parametrize("signature", [
    "— Camille, SVP de l'AR Hlm", "- Camille, SVP de l'AR Hlm", "— Dominique, SVP de l'AR Hlm",
    "Camille, SVP de l'AR HLM",
])
def test_the_configured_signature_is_dropped_whoever_signed(signature: str) -> None:
    text = f"{BODY}\n\nCordialement,\n\n{signature}"
    assert strip_courtesy(text, signatures=["— Camille, SVP de l'AR Hlm", TEMPLATE]) == BODY


def test_a_greeting_opening_the_first_sentence_goes_and_the_sentence_is_capitalised() -> None:
    assert strip_courtesy("Bonjour, le SLS n'est pas dû.") == "Le SLS n'est pas dû."
    assert strip_courtesy("Bonjour Madame, la TFPB est due.") == "La TFPB est due."


@pytest.mark.parametrize("text", [
    "Monsieur Martin a droit à l'APL depuis mars.",
    "Madame la Présidente de la CAL décide seule en cas de partage des voix.",
    "La commission se réunit une fois par mois.\nElle statue à la majorité.",
    "Le bailleur doit répondre dans un délai de deux mois.\n\n- Article L.441-2\n- Article R.441-9",
    "N'hésitez pas à consulter l'article R.441-9 pour le détail des plafonds.",
    "Bonjour est le mot que la gardienne doit dire : ce n'est pas une obligation légale.",
])
def test_the_body_is_left_exactly_as_written(text: str) -> None:
    assert strip_courtesy(text) == text
    assert not has_courtesy(text)


def test_a_closing_inside_the_body_stays() -> None:
    text = (f"Cordialement,\n\n{BODY}")  # not at the end: not a closing
    assert strip_courtesy(text).startswith("Cordialement,")


def test_a_long_paragraph_under_a_closing_is_not_taken_for_a_signature() -> None:
    text = (f"{BODY}\n\nCordialement,\nPour mémoire, le plafond est révisé chaque année au "
            "1er janvier selon l'indice de référence des loyers publié par l'Insee.")
    assert strip_courtesy(text) == text


def test_has_courtesy_says_when_publishing_changes_the_text() -> None:
    assert has_courtesy(f"Bonjour,\n{BODY}")
    assert not has_courtesy(BODY)


def test_an_answer_made_only_of_courtesy_becomes_empty() -> None:
    assert strip_courtesy("Bonjour,\n\nCordialement,\nCamille") == ""
