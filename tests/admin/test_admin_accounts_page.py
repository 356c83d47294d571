"""The accounts page: one control per action, labelled fields, sensitive actions apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from admin_helpers import PASSWORD, client_for, log_in, make_user
from sqlalchemy import select

from knowledge.runtime import Knowledge
from knowledge.store.models import AuditEvent


@dataclass
class _Form:
    action: str
    confirm: str | None
    sensitive: bool  # inside the page's "sensitive actions" zone
    buttons: list[str] = field(default_factory=list)
    inputs: list[dict[str, str | None]] = field(default_factory=list)


class _Page(HTMLParser):
    """The forms of a page, its visible labels (`for` → text) and its hidden ones."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.labels: dict[str, str] = {}
        self.hidden_labels: set[str] = set()
        self._form: _Form | None = None
        self._button: list[str] | None = None
        self._label: tuple[str, list[str]] | None = None
        self._stack: list[tuple[str, bool]] = []  # open tags, and whether each opens the zone

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag not in ("input", "br", "meta", "link"):
            self._stack.append((tag, "danger-zone" in classes))
        if tag == "form":
            self._form = _Form(str(values.get("action")), values.get("data-confirm"),
                               any(zone for _, zone in self._stack))
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form.inputs.append(values)
        elif tag == "button" and self._form is not None:
            self._button = []
        elif tag == "label" and values.get("for"):
            self._label = (str(values["for"]), [])
            if "sr" in classes:
                self.hidden_labels.add(str(values["for"]))

    def handle_data(self, data: str) -> None:
        for collected in (self._button, self._label[1] if self._label else None):
            if collected is not None:
                collected.append(data)

    def handle_endtag(self, tag: str) -> None:
        while self._stack and self._stack.pop()[0] != tag:
            pass
        if tag == "form":
            self._form = None
        elif tag == "button" and self._form is not None and self._button is not None:
            self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None
        elif tag == "label" and self._label is not None:
            self.labels[self._label[0]] = " ".join("".join(self._label[1]).split())
            self._label = None


def test_each_account_action_has_its_own_labelled_control_and_the_sensitive_ones_confirm(
        admin_knowledge: Knowledge) -> None:
    camille = make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as client:
        log_in(client, "root")
        page = _Page()
        page.feed(client.get("/users").text)
    forms = {form.action: form for form in page.forms
             if form.action.startswith(f"/users/{camille}/")}
    assert set(forms) == {f"/users/{camille}/{name}"
                          for name in ("password", "sessions/close", "disable")}
    assert [button for form in forms.values() for button in form.buttons] == [
        "Changer le mot de passe", "Fermer ses sessions", "Désactiver le compte"]
    for form in forms.values():
        for field_ in form.inputs:
            if field_.get("type") == "hidden":
                continue
            assert field_.get("id") in page.labels, field_
            assert field_.get("id") not in page.hidden_labels, field_
            assert page.labels[str(field_["id"])], field_
    password = forms[f"/users/{camille}/password"]
    new = next(f for f in password.inputs if f.get("name") == "password")
    assert new.get("autocomplete") == "new-password"
    assert page.labels[str(new["id"])].startswith("Nouveau mot de passe de Camille")
    assert not password.sensitive and password.confirm is None
    for name in ("sessions/close", "disable"):
        form = forms[f"/users/{camille}/{name}"]
        assert form.sensitive and form.confirm and "Camille" in form.confirm, name


def test_closing_an_accounts_sessions_is_in_the_audit_log(admin_knowledge: Knowledge) -> None:
    camille = make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as adviser, client_for(admin_knowledge) as admin:
        log_in(adviser, "camille")
        csrf = log_in(admin, "root")
        closed = admin.post(f"/users/{camille}/sessions/close",
                            data={"csrf_token": csrf, "admin_password": PASSWORD})
        journal = admin.get("/audit", params={"action": "user.sessions_closed"}).text
    assert closed.status_code == 303
    with admin_knowledge.session() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.sessions_closed")).one()
        assert (event.actor, event.object_id, event.details) == (
            "user:root", str(camille), {"sessions_revoked": 1})
    assert "a fermé toutes les sessions du compte de Camille" in journal
