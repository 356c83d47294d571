"""Every service of knowledge/ that changes state records an audit event.

Services are discovered, not listed: every public function of a knowledge/ module that takes a
keyword-only `session` is read (its source, as an AST). It *writes* when it adds, deletes or
merges through the session, executes an INSERT/UPDATE/DELETE, or assigns an attribute of an
object (ORM rows are changed that way), itself or through a function of knowledge/ it calls.
It *audits* when it calls `knowledge.audit.record`, itself or through a function it calls.
A writer that does not audit fails the test unless it is in ALLOWED below, with its reason.
Services added later (notes, follow-ups, glossary, themes, tokens...) are covered as they come.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from types import FunctionType, ModuleType
from typing import Any

import knowledge
from knowledge import audit

# Writers that legitimately leave no audit event: bookkeeping of machines, not decisions of
# people, or writes whose trace is kept elsewhere. Each needs a reason.
ALLOWED: dict[str, str] = {
    # Outbox delivery bookkeeping: the message was queued by an audited action; delivery state
    # (claims, parts, retries) is shown on the ticket page and would flood the log.
    "knowledge.desk.outbox.enqueue": "queued inside an audited action",
    "knowledge.desk.outbox.claim_due": "delivery bookkeeping",
    "knowledge.desk.outbox.record_part_sent": "delivery bookkeeping",
    "knowledge.desk.outbox.mark_sent": "delivery bookkeeping",
    "knowledge.desk.outbox.schedule_retry": "delivery bookkeeping",
    "knowledge.desk.outbox.mark_failed": "delivery bookkeeping",
    "knowledge.desk.outbox.release": "delivery bookkeeping",
    # Search bookkeeping: which entries were shown to the asker is stored on the ticket itself.
    "knowledge.desk.tickets.record_suggestions": "suggestions are kept on the ticket",
    # The asker's own follow-ups inside a ticket thread: the thread is the record.
    "knowledge.desk.tickets.keep_waiting": "kept as a message of the ticket's thread",
    "knowledge.desk.tickets.record_feedback_comment": "kept on the ticket after the audited 👎",
    # Derived data: vectors and the index change log follow audited entry changes (or are
    # rebuilt by an operator with `svp index reembed`).
    "knowledge.retrieval.embeddings.entry_changed": "derived from an audited entry change",
    "knowledge.retrieval.embeddings.embed_entries": "derived data, rebuilt at will",
    "knowledge.retrieval.embeddings.embed_missing": "derived data, rebuilt at will",
    "knowledge.retrieval.embeddings.log_change": "derived from an audited entry change",
    "knowledge.retrieval.embeddings.log_changes": "derived from an audited entry change",
    # Login machinery: attempts are their own log (rate limits); web sessions are technical,
    # and ending every session of an account happens inside audited account changes.
    "knowledge.people.advisers.authenticate": "login attempts are their own log",
    "knowledge.people.advisers.open_session": "technical login session",
    "knowledge.people.advisers.revoke_session": "technical login session (logout)",
    "knowledge.people.members.request_link": "a one-time link (the sign-in it gives is audited)",
    "knowledge.people.members.resolve": "technical member session (last seen, end)",
    "knowledge.people.members.sign_out": "technical member session (logout)",
    "knowledge.people.members.purge": "retention of ended links and sessions",
    "knowledge.catalog.reading.most_asked": "reads only (usage counts, then entries)",
    "knowledge.people.advisers.revoke_user_sessions": "inside audited account changes",
    "knowledge.people.advisers.purge_stale": "housekeeping of expired sessions and attempts",
    # Not a database write: the attribute assignments are spreadsheet cells of the export.
    "knowledge.catalog.exporting.export_entries": "reads only; writes a file",
    # Themes met inside an audited entry change, and the default list seeded by `svp init`.
    "knowledge.catalog.themes.canonical": "inside an audited entry create or update",
    "knowledge.catalog.themes.seed": "initial data, seeded at installation",
    # Not a database write: the attribute assignments fill in-memory counters.
    "knowledge.catalog.usage.usage": "reads only; counts in memory",
    # Machine bookkeeping of the bot: the durable inbox, group notices, its sign of life.
    "knowledge.desk.heartbeat.beat": "the bot's sign of life",
    "knowledge.desk.inbox.record": "intake bookkeeping (raw Telegram update)",
    "knowledge.desk.inbox.claim_next": "intake bookkeeping",
    "knowledge.desk.inbox.mark_done": "intake bookkeeping, in the unit of the audited action",
    "knowledge.desk.inbox.prune": "retention housekeeping",
    "knowledge.desk.inbox.tell_group_once": "remembers a notice sent to a group",
    "knowledge.desk.conversations.load_states": "forgets registration steps that timed out",
    "knowledge.desk.conversations.load_user_data": "forgets drafts of abandoned registrations",
    "knowledge.desk.conversations.save_state": "bot bookkeeping: a registration's step",
    "knowledge.desk.conversations.save_user_data": "bot bookkeeping: a registration's draft",
    # Login machinery (see above): one's own session closed, last use noted, throttles.
    "knowledge.people.advisers.close_session": "technical login session (one's own)",
    "knowledge.people.advisers.resolve_session": "technical login session (last use)",
    "knowledge.people.second_factor.start_enrolment": "pending secret; the audited act is "
                                                       "the confirmation",
    "knowledge.people.throttle.purge": "housekeeping of login throttles",
    "knowledge.people.scrubbing.scrub_entry": "inside the audited erasure (counts recorded)",
    "knowledge.people.scrubbing.scrub_phrasing": "inside the audited erasure and purge",
    "knowledge.people.throttle.release": "login throttles are their own log",
    "knowledge.people.api_rate.admit": "API rate-limit window (calls of write tokens are "
                                       "audited by api_tokens.record_call)",
    "knowledge.people.api_rate.sweep": "housekeeping of the API rate-limit window",
    # Derived data and index bookkeeping.
    "knowledge.retrieval.embeddings.embed_phrasings": "derived from an audited phrasing change",
    "knowledge.retrieval.embeddings.embed_entry_passages": "derived from an audited entry change",
    "knowledge.retrieval.embeddings.embed_missing_passages": "derived data completed (reembed)",
    "knowledge.retrieval.passages.remove": "derived data of an audited entry change",
    "knowledge.retrieval.passages.store": "derived data of an audited entry change",
    "knowledge.retrieval.log_readers.note": "index bookkeeping (how far a process has read)",
    "knowledge.retrieval.log_readers.prune": "index change log housekeeping",
    # API tokens: the last use is noted on the token; calls of write tokens are audited by
    # `api_tokens.record_call`, after the response.
    "knowledge.people.api_tokens.authenticate": "last use of a token, noted on the token",
    # The email channel and the help centre (issues 23, 24): queued messages and stored mail
    # are bookkeeping of audited acts, like the Telegram outbox and inbox above.
    "knowledge.desk.outbox.enqueue_email": "queued inside an audited action",
    "knowledge.desk.reaching.send_to_asker": "queued inside an audited action",
    "knowledge.desk.adviser_alerts.email_advisers": "queued inside an audited action",
    "knowledge.desk.mail_actions.issue": "links of a receipt, inside the audited submit",
    "knowledge.desk.mail_inbox.record": "intake bookkeeping (raw received mail)",
    "knowledge.desk.mail_inbox.mark_flagged": "intake bookkeeping",
    "knowledge.desk.mail_inbox.next_pending": "intake bookkeeping",
    "knowledge.desk.mail_inbox.mark_processed": "intake bookkeeping, in the unit of the "
                                                "audited action",
    "knowledge.desk.mail_inbox.record_failure": "intake bookkeeping",
    "knowledge.desk.help_counts.record": "anonymous counters of the help centre",
    "knowledge.people.members.link_for_asker": "a one-time link (the sign-in it gives is "
                                               "audited)",
    # Files ride on audited acts: a question or precision, an answer, a purge or erasure.
    "knowledge.desk.attachments.store": "inside the audited question, precision or answer",
    "knowledge.desk.attachments.store_all": "inside the audited question, precision or answer",
    "knowledge.desk.attachments.attach_to_outbox": "inside the audited answer or follow-up",
    "knowledge.desk.attachments.keep_for_entry": "inside the audited publication",
    "knowledge.desk.attachments.delete_for_tickets": "inside the audited purge or erasure",
}


def _modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(knowledge.__path__, prefix="knowledge."):
        if ".migrations" in info.name:
            continue
        yield importlib.import_module(info.name)


def _is_service(function: Any) -> bool:
    parameter = inspect.signature(function).parameters.get("session")
    return parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY


def services() -> dict[str, FunctionType]:
    """Public functions of knowledge/ taking a keyword-only session, by qualified name."""
    found = {}
    for module in _modules():
        for name, value in vars(module).items():
            if (isinstance(value, FunctionType) and value.__module__ == module.__name__
                    and not name.startswith("_") and _is_service(value)):
                found[f"{module.__name__}.{name}"] = value
    return found


def _tree(function: FunctionType) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(function)))


def _resolve(node: ast.expr, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, scope)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _callees(function: FunctionType) -> list[FunctionType]:
    scope = function.__globals__
    result = []
    for node in ast.walk(_tree(function)):
        if isinstance(node, ast.Call):
            target = _resolve(node.func, scope)
            if isinstance(target, FunctionType) and target.__module__.startswith("knowledge."):
                result.append(target)
    return result


_WRITE_METHODS = {"add", "add_all", "delete", "merge"}
_WRITE_STATEMENTS = {"insert", "update", "delete"}


def _writes_directly(function: FunctionType) -> bool:
    for node in ast.walk(_tree(function)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "session":
                if node.func.attr in _WRITE_METHODS:
                    return True
                if node.func.attr == "execute" and any(
                        isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
                        and inner.func.id in _WRITE_STATEMENTS for inner in ast.walk(node)):
                    return True
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(target, ast.Attribute) for target in targets):
            return True
    return False


def _transitively(check: Callable[[FunctionType], bool]) -> Callable[[FunctionType], bool]:
    @cache
    def closure(function: FunctionType, _seen: frozenset[FunctionType] = frozenset()) -> bool:
        if check(function):
            return True
        seen = _seen | {function}
        return any(closure(callee, seen) for callee in _callees(function) if callee not in seen)
    return closure


writes = _transitively(_writes_directly)
audits = _transitively(lambda function: function is audit.record)


def test_the_discovery_finds_the_known_services() -> None:
    found = services()
    # A sample across the subpackages, so a broken discovery cannot pass silently.
    for name in ("knowledge.desk.review.approve", "knowledge.catalog.entries.create",
                 "knowledge.people.data_requests.erase_asker",
                 "knowledge.people.organisations.update",
                 "knowledge.people.subscriptions.toggle", "knowledge.desk.tickets.submit"):
        assert name in found and writes(found[name]) and audits(found[name]), name
    assert not writes(found["knowledge.desk.tickets.list_for_asker"])


def test_every_service_that_changes_state_records_an_audit_event() -> None:
    missing = sorted(name for name, function in services().items()
                     if writes(function) and not audits(function) and name not in ALLOWED)
    assert missing == [], "services that change state without an audit event: " + \
        ", ".join(missing)


def test_the_allow_list_names_real_writers() -> None:
    found = services()
    stale = sorted(name for name in ALLOWED if name not in found or not writes(found[name]))
    assert stale == [], f"remove these from ALLOWED: {stale}"
