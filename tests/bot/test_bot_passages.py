"""Suggestions show the passage that answers: real e5, the demo base, the real Application."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BotHarness, Person

from index.precomputed import with_precomputed
from knowledge.catalog import importing
from knowledge.store.models import KnowledgeEntry

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "knowledge" / "data" / "demo-kb.jsonl"
VECTORS = ROOT / "knowledge" / "data" / "demo-kb.e5-small-int4.npz"

QUERY = ("Un locataire HLM dont le logement est devenu trop grand : combien de logements "
         "doit-on lui proposer ?")
EXPECTED_ID = "F2559"
EXPECTED = "votre bailleur doit vous proposer au moins 3 nouveaux logements adaptés à vos besoins"


def import_demo(harness: BotHarness) -> KnowledgeEntry:
    with harness.knowledge.session() as session:
        importing.import_file(session=session, path=DEMO, actor="test",
                              embedder=with_precomputed(harness.knowledge.embedder, VECTORS))
    with harness.knowledge.session() as session:
        entry = session.query(KnowledgeEntry).filter_by(external_id=EXPECTED_ID).one()
        session.expunge(entry)
        return entry


async def test_a_deep_answer_is_shown_under_its_suggestion(harness: BotHarness) -> None:
    entry = import_demo(harness)
    assert entry.answer.index(EXPECTED) > 1000  # far below what the opening showed
    marie = Person(2301)
    harness.approved_asker(marie)
    [receipt] = await harness.say(marie, QUERY)
    title, shown = receipt.split("\n\n")[2].split("\n", 1)
    assert title.startswith("<b>1. ") and entry.question[:40] in title
    assert EXPECTED in shown and shown.startswith("… ")
    assert " ".join(entry.answer.split())[:120] not in receipt  # not the entry's first lines
    assert len(shown) <= 350 + 4
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]
    parts = await harness.click(marie, keyboard[0][0]["callback_data"])
    whole = "".join(parts)
    assert len(parts) >= 2  # the whole entry, in parts
    marked = whole[whole.index("▶ "):]
    assert EXPECTED in marked[:400]
    assert whole.count("▶ ") == 1
    assert harness.errors == []


async def test_the_whole_answer_ends_with_its_references_linked_to_legifrance(
        harness: BotHarness) -> None:
    entry = import_demo(harness)
    with harness.knowledge.session() as session:
        stored = session.get(KnowledgeEntry, entry.id)
        assert stored is not None
        stored.legal_references = ["article L. 442-3-1 du CCH", "Note interne"]
    marie = Person(2302)
    harness.approved_asker(marie)
    await harness.say(marie, QUERY)
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]
    whole = "".join(await harness.click(marie, keyboard[0][0]["callback_data"]))
    references = whole[whole.index("Références :"):]
    assert ("• CCH art. L442-3-1 : https://www.legifrance.gouv.fr/codes/texte_lc/"
            "LEGITEXT000006074096") in references
    assert "• Note interne" in references
    assert references.index("Références :") < references.index("Source : ")
    assert harness.errors == []
