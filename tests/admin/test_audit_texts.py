"""The audit log in French: every recorded action has a sentence, names replace codes."""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

from admin_helpers import client_for, log_in, make_user

from admin import audit_texts
from knowledge import audit
from knowledge.desk import notes
from knowledge.runtime import Knowledge
from knowledge.store.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("knowledge", "admin", "bot", "svp", "mail")
# Actions built at run time: each pattern and every value it takes. A new pattern fails the
# test until it is listed here (and its values have sentences).
DYNAMIC = {
    "ticket.{kind}": {f"ticket.{notes.FOLLOW_UP}", f"ticket.{notes.CORRECTION}"},
    "{object_type}.export": {"asker.export", "user.export"},
}


def _is_audit_record(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "record" and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "audit")


def _assigned_strings(function: ast.AST, name: str) -> set[str]:
    """The string constants assigned to `name` inside a function."""
    found: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == name for target in node.targets):
            found |= {inner.value for inner in ast.walk(node.value)
                      if isinstance(inner, ast.Constant) and isinstance(inner.value, str)}
    return found


def recorded_actions() -> tuple[set[str], set[str], int]:
    """Every action the code records, the dynamic patterns met, and how many calls were read."""
    actions: set[str] = set()
    patterns: set[str] = set()
    calls = 0
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            functions = [node for node in ast.walk(tree)
                         if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
            for function in functions:
                for node in ast.walk(function):
                    if not _is_audit_record(node):
                        continue
                    assert isinstance(node, ast.Call)
                    calls += 1
                    action = next(k.value for k in node.keywords if k.arg == "action")
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    if isinstance(action, ast.Constant) and isinstance(action.value, str):
                        actions.add(action.value)
                    elif isinstance(action, ast.Name):
                        values = _assigned_strings(function, action.id)
                        assert values, f"{where}: cannot tell which actions {action.id} holds"
                        actions |= values
                    elif isinstance(action, ast.JoinedStr):
                        pattern = ast.unparse(action)[2:-1]
                        assert pattern in DYNAMIC, f"{where}: list the values of {pattern}"
                        patterns.add(pattern)
                        actions |= DYNAMIC[pattern]
                    else:
                        raise AssertionError(f"{where}: unreadable action {ast.unparse(action)}")
    return actions, patterns, calls


def test_every_action_the_code_records_has_a_french_sentence() -> None:
    actions, patterns, calls = recorded_actions()
    # A broken discovery must not pass silently.
    assert calls > 60 and {"ticket.approve", "entry.correction", "user.sessions_closed",
                           "entry.retire", "ticket.follow_up", "asker.export"} <= actions
    assert patterns == set(DYNAMIC), "remove the patterns no longer in the code"
    missing = sorted(action for action in actions if action not in audit_texts.ACTIONS)
    assert missing == [], f"actions without a French sentence in admin/audit_texts.py: {missing}"
    # Each prefix has a group in the filter list.
    assert sorted({a.partition(".")[0] for a in actions} - set(audit_texts.GROUPS)) == []


def recorded_detail_keys() -> dict[str, set[str]]:
    """The keys of the literal `details={...}` of each recorded action (constant actions)."""
    keys: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not _is_audit_record(node):
                    continue
                assert isinstance(node, ast.Call)
                words = {k.arg: k.value for k in node.keywords}
                action, details = words.get("action"), words.get("details")
                if not (isinstance(action, ast.Constant) and isinstance(details, ast.Dict)):
                    continue
                keys.setdefault(str(action.value), set()).update(
                    key.value for key in details.keys
                    if isinstance(key, ast.Constant) and isinstance(key.value, str))
    return keys


def test_every_detail_the_code_records_has_a_french_label() -> None:
    keys = recorded_detail_keys()
    assert "refused" in keys["ticket.draft"] and "publication" in keys["ticket.approve"]
    tracked = {name for _, fields in audit.TRACKED_FIELDS.values() for name in fields}
    untranslated = sorted(
        f"{action}: {key}" for action, names in keys.items() for key in names | tracked
        if not audit_texts.has_label(key, action))
    assert untranslated == [], f"details without a French label in admin/audit_texts.py: " \
                               f"{untranslated}"


def _event(action: str, actor: str = "user:camille", object_type: str = "ticket",
           object_id: str | None = "7", details: dict[str, object] | None = None) -> AuditEvent:
    return AuditEvent(actor=actor, action=action, object_type=object_type,
                      object_id=object_id, details=details or {})


ACCOUNTS = audit_texts.Accounts(by_login={"camille": "Camille Martin", "dominique": "Dominique"},
                                by_id={3: "Dominique"})


def test_actors_sentences_and_details_read_as_french() -> None:
    approve = audit_texts.line(_event("ticket.approve", details={
        "before": {"status": "in_review", "assigned_to_id": None},
        "after": {"status": "answered", "assigned_to_id": 3},
        "publication": "new", "entry_id": 12}), ACCOUNTS)
    assert approve.actor == audit_texts.Actor("Camille Martin", "camille")
    assert approve.sentence == "a validé et envoyé la réponse à la question n° 7"
    assert [(d.label, d.value) for d in approve.details] == [
        ("Statut", "en cours d'examen → répondue"), ("Conseiller chargé", "— → Dominique"),
        ("Publication", "nouvelle fiche"), ("Fiche", "n° 12")]
    correction = audit_texts.line(_event("entry.correction", actor="cli", object_type="entry",
                                         object_id="12", details={"count": 2}), ACCOUNTS)
    assert (correction.actor.name, correction.sentence) == (
        "Ligne de commande", "a corrigé la fiche n° 12 et prévenu les demandeurs concernés")
    assert correction.details[0] == audit_texts.Detail("Demandeurs prévenus", "2")
    token = audit_texts.line(_event("api_token.create", object_type="api_token", details={
        "scope": "write", "user": "dominique", "expires_days": None}), ACCOUNTS)
    assert [d.value for d in token.details] == ["lecture et écriture", "Dominique",
                                                "sans expiration"]
    disabled = audit_texts.line(_event("user.disable", object_type="user", object_id="3",
                                       actor="web"), ACCOUNTS)
    assert disabled.actor.name == "Système (site d'administration)"
    assert disabled.sentence == "a désactivé le compte de Dominique"
    clarified = audit_texts.line(_event("ticket.clarify", actor="asker:4"), ACCOUNTS)
    assert clarified.actor.name == "Demandeur n° 4"
    assert clarified.sentence == "a apporté la précision demandée sur sa question n° 7"
    # Nobody translated these: still readable, never JSON.
    odd = audit_texts.line(_event("thing.happen", object_type="gizmo", details={
        "odd_key": {"nested_part": 2}, "flag": True}), ACCOUNTS)
    assert odd.sentence == "a effectué l'action « thing.happen » (gizmo n° 7)"
    assert [(d.label, d.value) for d in odd.details] == [("Odd key", "nested part : 2"),
                                                         ("Flag", "oui")]


def test_the_audit_page_and_export_speak_french_and_keep_the_codes_for_machines(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with admin_knowledge.session() as session:
        audit.record(session=session, actor="user:camille", action="ticket.approve",
                     object_type="ticket", object_id=7,
                     details={"before": {"status": "in_review"}, "after": {"status": "answered"},
                              "publication": "none", "entry_id": None})
        audit.record(session=session, actor="cli", action="entry.correction",
                     object_type="entry", object_id=12, details={"count": 3, "retired": False})
    with client_for(admin_knowledge) as client:
        log_in(client, "root")
        page = client.get("/audit").text
        grouped = client.get("/audit", params={"action": "ticket."}).text
        export = client.get("/audit/export/journal.csv")
    body = page.split("<tbody>")[1]
    assert '<span class="audit-actor" title="camille">Camille</span>' in body
    assert "a validé et envoyé la réponse à la question n° 7" in body
    assert "<dt>Statut</dt><dd>en cours d&#39;examen → répondue</dd>" in body
    assert "<dt>Publication</dt><dd>sans publication</dd>" in body
    assert "Ligne de commande" in body and "a corrigé la fiche n° 12" in body
    assert "<dt>Demandeurs prévenus</dt><dd>3</dd>" in body
    for raw in ("user:camille", '"status"', "answered", "{", "entry.correction</td>"):
        assert raw not in body, raw
    # The filter: French labels, grouped, codes as values.
    assert '<optgroup label="Questions">' in page and '<optgroup label="Comptes">' in page
    assert re.search(r'<option value="ticket.approve" *>Réponse validée et envoyée</option>',
                     page)
    assert '<option value="ticket." selected>Questions : toutes les actions</option>' in grouped
    assert "a corrigé la fiche" not in grouped.split("<tbody>")[1]
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["N°", "Date (UTC)", "Auteur", "Ce qui a été fait", "Objet", "Détails",
                       "Code de l'auteur", "Code de l'action", "Type d'objet", "N° de l'objet"]
    correction, approval = rows[1], rows[2]
    assert correction[2:6] == ["Ligne de commande",
                               "Ligne de commande a corrigé la fiche n° 12 et prévenu les "
                               "demandeurs concernés", "Fiche n° 12",
                               "Demandeurs prévenus : 3 ; Fiche retirée : non"]
    assert approval[5] == ("Statut : en cours d'examen → répondue ; Publication : sans "
                           "publication ; Fiche : —")
    assert approval[6:] == ["user:camille", "ticket.approve", "ticket", "7"]


def test_a_field_the_change_already_shows_is_not_listed_twice() -> None:
    # An approval records the ticket's tracked changes, its entry among them, and the entry.
    approve = audit_texts.line(_event("ticket.approve", details={
        "before": {"entry_id": None, "status": "new"},
        "after": {"entry_id": 12, "status": "answered"},
        "publication": "new", "entry_id": 12}), ACCOUNTS)
    assert [(d.label, d.value) for d in approve.details] == [
        ("Fiche", "— → n° 12"), ("Statut", "nouvelle → répondue"),
        ("Publication", "nouvelle fiche")]
    kept = audit_texts.line(_event("ticket.draft", details={"refused": True}), ACCOUNTS)
    assert [(d.label, d.value) for d in kept.details] == [("Envoi refusé", "oui")]
