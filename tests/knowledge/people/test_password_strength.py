"""Guessable passwords are refused with a French reason; long unusual phrases are accepted."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from knowledge.errors import InvalidInput
from knowledge.people import advisers
from knowledge.store.models import UserRole


@pytest.mark.parametrize("password, reason", [
    ("azertyuiop", "clavier|courant"),
    ("1234567890", "courant|suite"),
    ("password12", "courant"),
    ("motdepasse2024", "courant|année"),
    ("aaaaaaaaaaaa", "répète"),
])
def test_common_and_guessable_passwords_are_refused_saying_why(password: str,
                                                               reason: str) -> None:
    with pytest.raises(InvalidInput, match="trop facile à deviner") as refused:
        advisers.check_password_strength(password)
    assert any(word in str(refused.value) for word in reason.split("|")), str(refused.value)


def test_a_password_made_of_the_login_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="identifiant ou votre nom"):
        advisers.create(session=session, login="dominique.martin",
                        password="dominique.martin1", role=UserRole.ADVISER, actor="test")


@pytest.mark.parametrize("password", ["correct horse battery", "Hibou-Vélo-Mistral-73",
                                      "la tarte aux prunes de tata"])
def test_unusual_phrases_are_accepted(password: str) -> None:
    advisers.check_password_strength(password)


@pytest.mark.parametrize("password", ["logementhlm2024", "svphlm2024!", "hlmpaca2025",
                                      "Paca-Logement-2025"])
def test_a_password_made_only_of_context_words_is_refused(password: str) -> None:
    with pytest.raises(InvalidInput, match="trop facile à deviner : il n'est fait que de mots"):
        advisers.check_password_strength(password)


@pytest.mark.parametrize("password", ["correct horse battery staple", "une phrase assez solide",
                                      "un mot de passe solide"])
def test_passphrases_with_other_words_are_still_accepted(password: str) -> None:
    advisers.check_password_strength(password)
