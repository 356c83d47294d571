"""« Mon compte » records the adviser's address and chosen email alerts (issue 24, point 7)."""

from __future__ import annotations

from admin_helpers import client_for, csrf_from, log_in, make_user

from knowledge.runtime import Knowledge
from knowledge.store.models import User


def test_an_adviser_chooses_alerts_by_email_on_the_account_page(
        admin_knowledge: Knowledge) -> None:
    user_id = make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/account")
        assert "Recevoir des alertes par courriel" in page.text
        token = csrf_from(page.text)
        refused = client.post("/account/email-alerts", data={
            "csrf_token": token, "email": "", "alerts": ["new_question"]})
        assert refused.status_code == 422 and "Indiquez votre adresse" in refused.text
        saved = client.post("/account/email-alerts", data={
            "csrf_token": token, "email": "Camille@SVP.example",
            "alerts": ["new_question", "reminder"]})
        assert saved.status_code == 303
        shown = client.get(saved.headers["location"])
        assert "sont enregistrées" in shown.text and 'value="camille@svp.example"' in shown.text
        assert 'id="alert-new_question" name="alerts" value="new_question" checked' in shown.text
        assert client.post("/account/email-alerts", data={
            "email": "x@svp.example"}).status_code == 403  # no CSRF token: refused
    with admin_knowledge.session() as session:
        user = session.get(User, user_id)
        assert user is not None and user.email == "camille@svp.example"
        assert user.email_notifications == ["new_question", "reminder"]
