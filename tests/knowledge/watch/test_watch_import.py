"""The regulatory watch end to end on real LEGI archives read by legi.py: a full dump, an
increment amending an article a demo entry cites, one repealing another; the right entries
flagged with the right reason and diff, nothing raised twice, a corrupt archive refused."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from legi_archives import ArticleVersion, TextVersion, write_global, write_increment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.catalog import digest, entries, reviews
from knowledge.errors import InvalidInput
from knowledge.store.models import KnowledgeEntry
from knowledge.store.watch_models import (
    EntryLegalFlag,
    LegalArticleVersion,
    LegalImport,
    LegalTextVersion,
)
from knowledge.watch import flags, legi_import
from knowledge.watch.references import TextNames, load_text_names
from knowledge.watch.status import month_changes, status

DEMO = Path(__file__).resolve().parents[3] / "knowledge" / "data" / "demo-kb.jsonl"
TODAY = date(2026, 12, 4)
CHECKED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)  # every entry was last verified then
ELAN = "JORFTEXT000037639478"

L441_1_OLD = ("Les conditions d'attribution des logements sociaux tiennent compte de la "
              "composition du ménage, de son niveau de ressources et des conditions de logement "
              "actuelles du ménage.")
L441_1_NEW = ("Les conditions d'attribution des logements sociaux tiennent compte de la "
              "composition du ménage, de son niveau de ressources, de son patrimoine et des "
              "conditions de logement actuelles du ménage.")
L442_3_1 = ("En cas de sous-occupation du logement, le bailleur propose au locataire un nouveau "
            "logement correspondant à ses besoins.")

FULL = [
    ArticleVersion(id="LEGIARTI000006896261", num="L441-1", etat="MODIFIE",
                   date_debut="2017-01-29", date_fin="2019-01-01",
                   text="Les conditions d'attribution tiennent compte des ressources."),
    ArticleVersion(id="LEGIARTI000038835418", num="L441-1", etat="VIGUEUR",
                   date_debut="2019-01-01", text=L441_1_OLD),
    ArticleVersion(id="LEGIARTI000006896280", num="L442-3-1", etat="VIGUEUR",
                   date_debut="2018-11-25", text=L442_3_1),
    ArticleVersion(id="LEGIARTI000006896270", num="L441-2", etat="VIGUEUR",
                   date_debut="2018-11-25",
                   text="Il est créé, dans chaque organisme, une commission d'attribution."),
    ArticleVersion(id="LEGIARTI000006896999", num="L481-1", etat="VIGUEUR",
                   date_debut="2010-01-01", text="Un article que personne ne cite."),
]
ELAN_TEXT = TextVersion(
    id="LEGITEXT000037640375", cid=ELAN, nature="LOI", num="2018-1021",
    date_texte="2018-11-23", titre="LOI n° 2018-1021 du 23 novembre 2018",
    titrefull="LOI n° 2018-1021 du 23 novembre 2018 portant évolution du logement, de "
              "l'aménagement et du numérique", etat="VIGUEUR", date_debut="2018-11-25")
AMENDING = [
    ArticleVersion(id="LEGIARTI000038835418", num="L441-1", etat="MODIFIE",
                   date_debut="2019-01-01", date_fin="2026-11-01", text=L441_1_OLD),
    ArticleVersion(id="LEGIARTI000050000001", num="L441-1", etat="VIGUEUR",
                   date_debut="2026-11-01", text=L441_1_NEW),
]
REPEALING = [
    ArticleVersion(id="LEGIARTI000006896280", num="L442-3-1", etat="ABROGE_DIFF",
                   date_debut="2018-11-25", date_fin="2027-01-01", text=L442_3_1),
]


@pytest.fixture
def names() -> TextNames:
    return load_text_names()


@pytest.fixture
def archives(tmp_path: Path) -> dict[str, Path]:
    return {
        "full": write_global(tmp_path, articles=FULL, texts=[ELAN_TEXT], stamp="20250713-140000"),
        "amending": write_increment(tmp_path, articles=AMENDING, stamp="20261120-213000"),
        "repealing": write_increment(tmp_path, articles=REPEALING, stamp="20261121-213000"),
    }


def _demo_entries(session: Session) -> dict[str, int]:
    """Five demo entries, each given the references an adviser would write."""
    lines = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()[:6]]
    cited = {
        "amended": ["CCH art. L441-1"],
        "repealed": ["article L. 442-3-1 du code de la construction et de l'habitation"],
        "unchanged": ["art. L.441-2 du CCH", "loi ELAN"],
        "uncited": [],
        "unparsed": ["Circulaire interne de l'association"],
    }
    ids = {}
    for (key, references), line in zip(cited.items(), lines, strict=False):
        entry = entries.create(session=session, actor="user:test", content=entries.EntryFields(
            question=line["question"], answer=line["answer"],
            legal_references=tuple(references), source=line.get("source")))
        entry.created_at = entry.updated_at = CHECKED
        ids[key] = entry.id
    session.flush()
    return ids


def _import(session: Session, path: Path, names: TextNames) -> legi_import.ImportReport:
    return legi_import.import_archive(session=session, path=path, names=names,
                                      actor="cli:veille", today=TODAY)


def _open(session: Session) -> dict[int, list[EntryLegalFlag]]:
    found: dict[int, list[EntryLegalFlag]] = {}
    for flag in flags.open_flags(session=session):
        found.setdefault(flag.entry_id, []).append(flag)
    return found


def test_without_any_import_the_watch_stays_silent(session: Session, names: TextNames) -> None:
    _demo_entries(session)
    assert flags.refresh(session=session, names=names, today=TODAY) == 0
    assert flags.open_flags(session=session) == []
    assert status(session=session).last_import is None


def test_full_dump_then_increments_flag_the_right_entries_with_reason_and_diff(
        session: Session, names: TextNames, archives: dict[str, Path]) -> None:
    ids = _demo_entries(session)
    full = _import(session, archives["full"], names)
    assert (full.kind, full.already_imported, full.flags_raised) == ("global", False, 0)
    # Only what entries cite is kept: L481-1 is in the dump, not in our store.
    kept = set(session.scalars(select(LegalArticleVersion.id)))
    assert "LEGIARTI000006896999" not in kept
    assert {"LEGIARTI000038835418", "LEGIARTI000006896280", "LEGIARTI000006896270"} <= kept
    assert session.get(LegalTextVersion, "LEGITEXT000037640375") is not None

    amending = _import(session, archives["amending"], names)
    assert (amending.kind, amending.new_versions, amending.flags_raised) == ("increment", 1, 1)
    flagged = _open(session)
    assert list(flagged) == [ids["amended"]]
    [flag] = flagged[ids["amended"]]
    assert flag.reason == "CCH art. L441-1 modifié, nouvelle version en vigueur le 01/11/2026"
    assert (flag.kind, flag.old_version_id, flag.new_version_id) == (
        "modified", "LEGIARTI000038835418", "LEGIARTI000050000001")
    [detail] = flags.details(session=session, flags=[flag])
    assert detail.old is not None and detail.new is not None
    assert detail.old.content == L441_1_OLD and detail.new.content == L441_1_NEW
    added = "".join(part.text for part in detail.diff if part.op == "insert")
    removed = "".join(part.text for part in detail.diff if part.op == "delete")
    assert "patrimoine" in added and "ressources" not in added and removed.strip(" ,") == ""

    repealing = _import(session, archives["repealing"], names)
    assert repealing.flags_raised == 1
    flagged = _open(session)
    assert sorted(flagged) == sorted([ids["amended"], ids["repealed"]])
    [repeal] = flagged[ids["repealed"]]
    # The repeal takes effect in the future: flagged now, with that date.
    assert repeal.reason == ("CCH art. L442-3-1 abrogé à compter du 01/01/2027 (à venir)")
    assert repeal.effective_on == date(2027, 1, 1)
    for key in ("unchanged", "uncited", "unparsed"):
        assert ids[key] not in flagged

    # The same increment again changes nothing; so does a refresh.
    counts = (session.scalar(select(func.count()).select_from(LegalArticleVersion)),
              session.scalar(select(func.count()).select_from(EntryLegalFlag)))
    again = _import(session, archives["amending"], names)
    assert again.already_imported and again.import_id == amending.import_id
    assert flags.refresh(session=session, names=names, today=TODAY) == 0
    assert counts == (session.scalar(select(func.count()).select_from(LegalArticleVersion)),
                      session.scalar(select(func.count()).select_from(EntryLegalFlag)))
    assert session.scalar(select(func.count()).select_from(LegalImport)) == 3
    # The same files in an archive of another name (and checksum): read, nothing changes.
    renamed = archives["amending"].with_name("LEGI_20261125-213000.tar.gz")
    renamed.write_bytes(archives["amending"].read_bytes() + b"\0" * 1024)
    copy = _import(session, renamed, names)
    assert not copy.already_imported and (copy.new_versions, copy.flags_raised) == (0, 0)
    assert counts == (session.scalar(select(func.count()).select_from(LegalArticleVersion)),
                      session.scalar(select(func.count()).select_from(EntryLegalFlag)))


def test_still_right_and_revision_settle_the_flags_and_feed_the_digest(
        session: Session, names: TextNames, archives: dict[str, Path]) -> None:
    ids = _demo_entries(session)
    for key in ("full", "amending", "repealing"):
        _import(session, archives[key], names)
    reviews.mark_verified(session=session, entry_id=ids["amended"], actor="user:camille",
                          until=date(2027, 12, 1))
    assert [flag.resolution for flag in session.scalars(select(EntryLegalFlag).where(
        EntryLegalFlag.entry_id == ids["amended"]))] == ["still_right"]
    entry = session.get(KnowledgeEntry, ids["repealed"])
    assert entry is not None
    entries.update(session=session, entry_id=entry.id, actor="user:camille",
                   reason="Article abrogé au 1er janvier 2027",
                   content=replace(entries.EntryFields.of(entry), answer=entry.answer
                                   + "\n\nÀ partir de 2027, l'article est abrogé."))
    assert flags.open_flags(session=session) == []
    # Neither comes back: the future repeal was settled by the revision.
    assert flags.refresh(session=session, names=names, today=TODAY) == 0

    # The flags were raised "now": inside the session's current month.
    now_month = digest.Month.of(datetime.now(UTC).date())
    first, after = now_month.utc_bounds()
    found = month_changes(session=session, start=first, end=after)
    assert set(found.changes) == {
        "CCH art. L441-1 modifié, nouvelle version en vigueur le 01/11/2026",
        "CCH art. L442-3-1 abrogé à compter du 01/01/2027 (à venir)"}
    assert [revised.entry_id for revised in found.revised] == [ids["repealed"]]
    built = digest.build(session=session, month=now_month, names=names)
    page = digest.render_html(built)
    assert "Évolutions réglementaires du mois" in page
    assert "CCH art. L441-1 modifié" in page and entry.question in page
    assert "Évolutions réglementaires du mois" in digest.render_telegram(built)


def test_a_corrupt_archive_is_refused_and_writes_nothing(
        session: Session, names: TextNames, archives: dict[str, Path], tmp_path: Path) -> None:
    _demo_entries(session)
    _import(session, archives["full"], names)
    session.commit()
    before = (session.scalar(select(func.count()).select_from(LegalImport)),
              session.scalar(select(func.count()).select_from(LegalArticleVersion)))
    data = archives["amending"].read_bytes()
    truncated = tmp_path / "LEGI_20261122-213000.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "LEGI_20261123-213000.tar.gz"
    garbage.write_bytes(b"ceci n'est pas une archive" * 100)
    for path in (truncated, garbage):
        with pytest.raises(InvalidInput, match=r"Archive LEGI illisible|Aucun fichier LEGI"):
            _import(session, path, names)
        session.rollback()
    assert before == (session.scalar(select(func.count()).select_from(LegalImport)),
                      session.scalar(select(func.count()).select_from(LegalArticleVersion)))
    with pytest.raises(InvalidInput, match="introuvable"):
        _import(session, tmp_path / "absente.tar.gz", names)


def test_a_cited_range_flags_the_articles_inside_it_and_only_those(
        session: Session, names: TextNames, tmp_path: Path) -> None:
    entry = entries.create(session=session, actor="user:test", content=entries.EntryFields(
        question="Quelles règles d'attribution ?", answer="Voir les articles.",
        legal_references=("CCH art. L441-1 à L441-2",)))
    entry.created_at = entry.updated_at = CHECKED
    session.flush()
    # L441-1-1 lies between L441-1 and L441-2; L441-3 is after the range.
    dump = write_global(tmp_path, stamp="20250713-140000", articles=[
        ArticleVersion(id="LEGIARTI000000000011", num="L441-1-1", etat="VIGUEUR",
                       date_debut="2018-11-25", text="Ancien texte du L441-1-1."),
        ArticleVersion(id="LEGIARTI000000000013", num="L441-3", etat="VIGUEUR",
                       date_debut="2018-11-25", text="Ancien texte du L441-3."),
        ArticleVersion(id="LEGIARTI000000000012", num="L441-2", etat="VIGUEUR",
                       date_debut="2018-11-25", text="Ancien texte du L441-2.")])
    increment = write_increment(tmp_path, stamp="20261120-213000", articles=[
        ArticleVersion(id="LEGIARTI000000000011", num="L441-1-1", etat="MODIFIE",
                       date_debut="2018-11-25", date_fin="2026-11-01",
                       text="Ancien texte du L441-1-1."),
        ArticleVersion(id="LEGIARTI000000000021", num="L441-1-1", etat="VIGUEUR",
                       date_debut="2026-11-01", text="Nouveau texte du L441-1-1."),
        ArticleVersion(id="LEGIARTI000000000013", num="L441-3", etat="ABROGE",
                       date_debut="2018-11-25", date_fin="2026-11-01",
                       text="Ancien texte du L441-3."),
        ArticleVersion(id="LEGIARTI000000000012", num="L441-2", etat="ABROGE",
                       date_debut="2018-11-25", date_fin="2026-11-01",
                       text="Ancien texte du L441-2.")])
    _import(session, dump, names)
    assert session.get(LegalArticleVersion, "LEGIARTI000000000013") is None  # outside
    _import(session, increment, names)
    reasons = sorted(flag.reason for flag in flags.open_flags(session=session))
    assert reasons == [
        "art. L441-1-1 (CCH art. L441-1 à L441-2) modifié, nouvelle version en vigueur le "
        "01/11/2026",
        "art. L441-2 (CCH art. L441-1 à L441-2) abrogé le 01/11/2026"]
