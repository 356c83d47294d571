"""The knowledge base's word filter takes `%` and `_` literally, not as wildcards."""

from __future__ import annotations

from admin_helpers import client_for, log_in, make_entry, make_user

from knowledge.runtime import Knowledge


def test_percent_and_underscore_are_searched_as_typed(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_entry(admin_knowledge, "Le SLS peut-il dépasser 25 % du loyer ?", "Non, il est plafonné.")
    make_entry(admin_knowledge, "Que veut dire la cote ref_2024 ?", "Une référence interne.")
    make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire, dans ses charges.")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        percent = client.get("/kb", params={"text": "%"}).text
        underscore = client.get("/kb", params={"text": "_"}).text
        backslash = client.get("/kb", params={"text": "\\"})
    assert "25 % du loyer" in percent and "TEOM" not in percent and "ref_2024" not in percent
    assert "ref_2024" in underscore and "TEOM" not in underscore and "25 %" not in underscore
    assert backslash.status_code == 200 and "TEOM" not in backslash.text
