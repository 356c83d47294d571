""""Open" is defined once: the queue, the age badge, the ticket page and the API agree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from knowledge.desk import review, tickets
from knowledge.store.models import Ticket, TicketStatus

ROOT = Path(__file__).resolve().parents[3]
OPEN = {TicketStatus.NEW, TicketStatus.IN_REVIEW, TicketStatus.WAITING_ASKER}


@pytest.mark.parametrize("status", list(TicketStatus))
def test_badge_and_is_open_agree_for_every_status(status: TicketStatus) -> None:
    ticket = Ticket(text="?", status=status.value)
    item = review.QueueItem(ticket=ticket, age_days=0, target_days=5)
    assert tickets.is_open(ticket) is (status in OPEN)
    assert (item.badge != "done") is (status in OPEN)
    assert set(tickets.OPEN_STATUSES) | set(tickets.CLOSED_STATUSES) == set(TicketStatus)


def _lists_all_three_open_statuses(node: ast.AST) -> bool:
    names = {sub.attr for sub in ast.walk(node) if isinstance(sub, ast.Attribute)}
    return {"NEW", "IN_REVIEW", "WAITING_ASKER"} <= names


def test_no_module_but_tickets_spells_out_the_open_statuses() -> None:
    spelled = []
    for package in ("knowledge", "admin", "bot", "svp"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "knowledge" / "desk" / "tickets.py" or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            spelled += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                        if isinstance(node, (ast.Tuple, ast.Set, ast.List))
                        and _lists_all_three_open_statuses(node)]
    assert spelled == []
