"""The LEGI archives built for the tests are read by Legilibre's legi.py as DILA's are."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import legi_archives as la
import pytest
from legi import tar2sqlite
from legi.db import DB, connect_db
from tqdm import tqdm

ELAN_CID = "JORFTEXT000037639478"
ELAN_TITLE = ("LOI n° 2018-1021 du 23 novembre 2018 portant évolution du logement, de "
              "l'aménagement et du numérique (1)")
L441_1_V1 = la.ArticleVersion(
    id="LEGIARTI000006896262", num="L441-1", etat="MODIFIE", date_debut="1978-12-31",
    date_fin="2018-11-25",
    text="Le décret en Conseil d'État prévu à l'article L. 441-2 détermine les conditions "
         "dans lesquelles les logements construits avec le concours financier de l'État sont "
         "attribués par les organismes d'habitations à loyer modéré.")
L441_1_V2 = la.ArticleVersion(
    id="LEGIARTI000037642050", num="L441-1", etat="VIGUEUR", date_debut="2018-11-25",
    text="Le décret en Conseil d'État prévu à l'article L. 441-2-9 détermine les conditions "
         "dans lesquelles les logements construits, améliorés ou acquis et améliorés avec le "
         "concours financier de l'État ou ouvrant droit à l'aide personnalisée au logement "
         "sont attribués par les organismes d'habitations à loyer modéré.\n\n"
         "Pour l'attribution des logements, ce décret prévoit qu'il est tenu compte notamment "
         "du patrimoine, de la composition, du niveau de ressources et des conditions de "
         "logement actuelles du ménage.")
L441_1_V3 = la.ArticleVersion(
    id="LEGIARTI000051984310", num="L441-1", etat="VIGUEUR", date_debut="2025-07-15",
    text="Le décret en Conseil d'État prévu à l'article L. 441-2-9 détermine les conditions "
         "dans lesquelles les logements locatifs sociaux sont attribués, après cotation de la "
         "demande, par les organismes d'habitations à loyer modéré.\n\n"
         "Pour l'attribution des logements, il est tenu compte du patrimoine, de la "
         "composition, du niveau de ressources et de l'éloignement des lieux de travail.")
L442_3_1 = la.ArticleVersion(
    id="LEGIARTI000037651234", num="L442-3-1", etat="VIGUEUR", date_debut="2018-11-25",
    section_id="LEGISCTA000006176241", section_title="Chapitre II : Loyers",
    text="En cas de sous-occupation du logement telle que définie à l'article L. 621-2, le "
         "bailleur propose au locataire un nouveau logement correspondant à ses besoins, "
         "nonobstant les plafonds de ressources prévus à l'article L. 441-1.\n\n"
         "Le bailleur examine, avec le locataire, sa situation et les possibilités d'un "
         "parcours résidentiel.")
# A file DILA published by mistake and withdraws through liste_suppression_legi.dat.
L442_3_2 = la.ArticleVersion(
    id="LEGIARTI000037652000", num="L442-3-2", etat="VIGUEUR", date_debut="2018-11-25",
    section_id="LEGISCTA000006176241", section_title="Chapitre II : Loyers",
    text="Les dispositions de l'article L. 442-3-1 ne sont pas applicables aux locataires "
         "âgés de plus de soixante-cinq ans.")
ELAN_114 = la.ArticleVersion(
    id="LEGIARTI000037641620", num="114", etat="VIGUEUR", date_debut="2018-11-25",
    cid=ELAN_CID, code_title=ELAN_TITLE, section_id="LEGISCTA000037641619",
    section_title="Chapitre II : Favoriser la mobilité dans le parc social et le parc privé",
    text="Le code de la construction et de l'habitation est ainsi modifié : l'article "
         "L. 442-3-1 est ainsi rédigé.")
ELAN = la.TextVersion(
    id=ELAN_CID, cid=ELAN_CID, nature="LOI", num="2018-1021", date_texte="2018-11-23",
    titre="LOI n° 2018-1021 du 23 novembre 2018", titrefull=ELAN_TITLE, etat="VIGUEUR",
    date_debut="2018-11-25", nor="TERL1805474L",
    ministere="Ministère de la cohésion des territoires",
    signataires="Par le Président de la République : Emmanuel Macron")
CCH = la.TextVersion(
    id=la.CCH_CID, cid=la.CCH_CID, nature="CODE", num=None, date_texte=la.OPEN_END,
    titre="Code de la construction et de l'habitation",
    titrefull="Code de la construction et de l'habitation", etat="VIGUEUR",
    date_debut="1978-12-31")
GLOBAL_ARTICLES = [L441_1_V1, L441_1_V2, L442_3_1, L442_3_2, ELAN_114]
MADE = re.compile(r"made (\d+) changes in the database:")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DB]:
    """legi's own SQLite database, its progress bar silenced."""
    monkeypatch.setattr(tar2sqlite, "tqdm", functools.partial(tqdm, disable=True))
    connection = connect_db(str(tmp_path / "legi.sqlite"))
    yield connection
    connection.close()


def process(db: DB, archive: Path) -> str:
    """Run legi's import of one archive as its CLI does, in one transaction; return its output."""
    out, anomalies = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), db:
        tar2sqlite.process_archive(db, str(archive), True, process_links=True,
                                   check_html=True, anomalies_file=anomalies)
    assert anomalies.getvalue() == ""
    assert "unknown folder" not in out.getvalue()
    return out.getvalue()


def changes(output: str) -> int:
    """The number of changes legi reports for an archive's files."""
    match = MADE.search(output)
    assert match, output
    return int(match.group(1))


def article(db: DB, legi_id: str) -> dict[str, str] | None:
    return db.one("SELECT id, num, etat, date_debut, date_fin, cid, dossier, section, "
                  "bloc_textuel FROM articles WHERE id = ?", (legi_id,), to_dict=True)


def test_legi_imports_a_global_dump_then_increments_that_amend_and_repeal(
        db: DB, tmp_path: Path) -> None:
    archives = tmp_path / "archives"
    dump = la.write_global(archives, articles=GLOBAL_ARTICLES, texts=[CCH, ELAN])
    amending = la.write_increment(
        archives, stamp="20250714-213000", articles=[
            L441_1_V1, dataclasses.replace(L441_1_V2, etat="MODIFIE", date_fin="2025-07-15"),
            L441_1_V3])
    repealing = la.write_increment(
        archives, stamp="20250715-213000",
        articles=[dataclasses.replace(L442_3_1, etat="ABROGE", date_fin="2025-07-16")],
        suppressed=[L442_3_2.id], siblings=GLOBAL_ARTICLES)
    assert dump.name == "Freemium_legi_global_20250713-140000.tar.gz"
    assert amending.name == "LEGI_20250714-213000.tar.gz"

    assert changes(process(db, dump)) == 7  # 5 articles, 2 text versions
    assert article(db, L441_1_V1.id) == {
        "id": L441_1_V1.id, "num": "L441-1", "etat": "MODIFIE", "date_debut": "1978-12-31",
        "date_fin": "2018-11-25", "cid": la.CCH_CID, "dossier": "code_en_vigueur",
        "section": "LEGISCTA000006159097",
        "bloc_textuel": "<p>" + L441_1_V1.text + "</p>"}
    law = db.one("SELECT nature, num, cid, dossier, titrefull, nor, date_texte, date_publi "
                 "FROM textes_versions WHERE id = ?", (ELAN_CID,), to_dict=True)
    assert law == {"nature": "LOI", "num": "2018-1021", "cid": ELAN_CID,
                   "dossier": "TNC_en_vigueur", "titrefull": ELAN_TITLE, "nor": "TERL1805474L",
                   "date_texte": "2018-11-23", "date_publi": "2018-11-24"}
    code = db.one("SELECT nature, num, cid, dossier FROM textes_versions WHERE id = ?",
                  (la.CCH_CID,), to_dict=True)
    assert code == {"nature": "CODE", "num": None, "cid": la.CCH_CID,
                    "dossier": "code_en_vigueur"}
    law_article = article(db, ELAN_114.id)
    assert law_article is not None
    assert (law_article["num"], law_article["cid"], law_article["dossier"]) == (
        "114", ELAN_CID, "TNC_en_vigueur")

    assert changes(process(db, amending)) == 3
    rows = db.list("SELECT id, etat, date_debut, date_fin FROM articles WHERE num = 'L441-1' "
                   "ORDER BY date_debut")
    assert rows == [(L441_1_V1.id, "MODIFIE", "1978-12-31", "2018-11-25"),
                    (L441_1_V2.id, "MODIFIE", "2018-11-25", "2025-07-15"),
                    (L441_1_V3.id, "VIGUEUR", "2025-07-15", la.OPEN_END)]
    current = article(db, L441_1_V3.id)
    assert current is not None
    assert "après cotation de la demande" in current["bloc_textuel"]
    assert current["bloc_textuel"].count("<p>") == 2

    output = process(db, repealing)
    assert changes(output) == 1
    assert '"delete from articles": 1' in output  # from liste_suppression_legi.dat
    repealed = article(db, L442_3_1.id)
    assert repealed is not None
    assert (repealed["etat"], repealed["date_debut"], repealed["date_fin"]) == (
        "ABROGE", "2018-11-25", "2025-07-16")
    assert article(db, L442_3_2.id) is None

    before = db.list("SELECT * FROM articles ORDER BY id")
    again = process(db, repealing)
    assert changes(again) == 0
    assert "skipped 1 files that haven't changed" in again
    assert "made 0 changes in the database based on liste_suppression_legi.dat" in again
    assert db.list("SELECT * FROM articles ORDER BY id") == before
    assert db.one("SELECT count(*) FROM articles") == 5  # 4 from the dump, 1 new version


def test_each_article_file_lists_every_version_of_its_number(tmp_path: Path) -> None:
    archive = la.write_increment(tmp_path, stamp="20250714-213000",
                                 articles=[L441_1_V3], siblings=[L441_1_V1, L441_1_V2])
    with tarfile.open(archive) as tar:
        [member] = [m for m in tar.getmembers() if m.isfile()]
        xml = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    assert member.name == (
        "20250714-213000/legi/global/code_et_TNC_en_vigueur/code_en_vigueur/LEGI/TEXT/"
        "00/00/06/07/40/LEGITEXT000006074096/article/LEGI/ARTI/00/00/51/98/43/"
        "LEGIARTI000051984310.xml")
    assert member.mtime == int(la.stamp_time("20250714-213000").timestamp())
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ARTICLE>')
    assert "<URL>article/LEGI/ARTI/00/00/51/98/43/LEGIARTI000051984310.xml</URL>" in xml
    assert [re.search(r'id="(\w+)"', line).group(1)  # type: ignore[union-attr]
            for line in xml.splitlines() if line.startswith("<LIEN_ART")] == [
        L441_1_V1.id, L441_1_V2.id, L441_1_V3.id]


def test_legi_reads_a_cch_sized_dump_and_its_daily_increment_entirely(
        db: DB, tmp_path: Path) -> None:
    corpus = la.cch_sized_corpus(articles=12_000)
    increment = la.daily_increment_for(corpus, changed=150, repealed=10, stamp="20250714-213000")
    assert len({version.id for version in corpus}) == 12_000
    assert len(corpus) == 12_000
    assert changes(process(db, la.write_global(tmp_path, articles=corpus))) == 12_000
    assert db.one("SELECT count(*) FROM articles") == 12_000
    assert db.one("SELECT count(*) FROM articles WHERE bloc_textuel LIKE '<p>%'") == 12_000
    output = process(db, la.write_increment(tmp_path, articles=increment,
                                            stamp="20250714-213000"))
    assert changes(output) == len(increment)
    assert db.one("SELECT count(*) FROM articles") == 12_150
    assert db.one("SELECT count(*) FROM articles WHERE etat = 'ABROGE'") == 10
    assert db.one("SELECT count(*) FROM articles WHERE date_fin = '2025-07-14'") == 160
