"""`svp veille import|status` run as an operator would from cron, in a child process on the
real databases, with LEGI archives in the published layout."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from legi_archives import ArticleVersion, write_global, write_increment
from svp_process import run_svp

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes

OLD_TEXT = ("Le supplément de loyer de solidarité n'est pas exigible dans les quartiers "
            "prioritaires.")
NEW_TEXT = ("Le supplément de loyer de solidarité n'est pas exigible dans les quartiers "
            "prioritaires de la politique de la ville, sauf délibération contraire.")


def _ok(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = run_svp(*args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_status_again_and_a_corrupt_archive(svp_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    _ok(svp_env, tmp_path, "init")
    entries = tmp_path / "entries.jsonl"
    entries.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in [
        {"id": "SLS-QPV", "question": "Le SLS est-il dû en QPV ?", "answer": "Non.",
         "legal_references": ["article L. 441-3 du CCH"]},
        {"id": "CAL", "question": "Qui siège en CALEOL ?", "answer": "Six membres.",
         "legal_references": ["CCH art. L441-2"]}]), encoding="utf-8")
    _ok(svp_env, tmp_path, "kb", "import", str(entries))
    assert "Aucune archive LEGI importée" in _ok(svp_env, tmp_path, "veille", "status")

    # A change that takes effect in two months: flagged now, with its date.
    effective = date.today() + timedelta(days=60)
    full = write_global(tmp_path, stamp="20250713-140000", articles=[
        ArticleVersion(id="LEGIARTI000006896265", num="L441-3", etat="VIGUEUR",
                       date_debut="2018-11-25", text=OLD_TEXT),
        ArticleVersion(id="LEGIARTI000006896270", num="L441-2", etat="VIGUEUR",
                       date_debut="2018-11-25", text="La commission d'attribution.")])
    increment = write_increment(tmp_path, stamp="20261201-213000", articles=[
        ArticleVersion(id="LEGIARTI000006896265", num="L441-3", etat="MODIFIE",
                       date_debut="2018-11-25", date_fin=effective.isoformat(), text=OLD_TEXT),
        ArticleVersion(id="LEGIARTI000051000001", num="L441-3", etat="VIGUEUR_DIFF",
                       date_debut=effective.isoformat(), text=NEW_TEXT)])
    # Given out of order, imported by date: the dump first.
    out = _ok(svp_env, tmp_path, "veille", "import", str(increment), str(full))
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{full.name} : ") and "0 fiche(s) à revoir" in lines[0]
    assert lines[1].startswith(f"{increment.name} : ") and "1 fiche(s) à revoir" in lines[1]

    status = json.loads(_ok(svp_env, tmp_path, "veille", "status", "--json"))
    assert status["imports"] == 2 and status["last_import"]["archive"] == increment.name
    [flagged] = status["entries"]
    assert flagged["question"] == "Le SLS est-il dû en QPV ?"
    assert flagged["reasons"] == [
        f"CCH art. L441-3 modifié, nouvelle version à compter du "
        f"{effective.strftime('%d/%m/%Y')} (à venir)"]
    text = _ok(svp_env, tmp_path, "veille", "status")
    assert "1 fiche(s) à revoir" in text and "Le SLS est-il dû en QPV ?" in text

    again = _ok(svp_env, tmp_path, "veille", "import", str(increment))
    assert "déjà importée" in again
    assert json.loads(_ok(svp_env, tmp_path, "veille", "status", "--json"))["imports"] == 2

    broken = tmp_path / "LEGI_20261202-213000.tar.gz"
    broken.write_bytes(increment.read_bytes()[:200])
    result = run_svp("veille", "import", str(broken), env=svp_env, cwd=tmp_path)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("Erreur") and broken.name in errors[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert json.loads(_ok(svp_env, tmp_path, "veille", "status", "--json"))["imports"] == 2

    # Checked against the new text: the flag is settled, nothing is raised again.
    _ok(svp_env, tmp_path, "kb", "verify", "SLS-QPV")
    assert "Aucune fiche à revoir" in _ok(svp_env, tmp_path, "veille", "status")
    assert "0 nouveau(x)" in _ok(svp_env, tmp_path, "veille", "refresh")


@contextmanager
def _archive_site(folder: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 listing `folder` as DILA's OPENDATA/LEGI page does."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_then_import_the_folder_a_timer_would(svp_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    _ok(svp_env, tmp_path, "init")
    published = tmp_path / "dila"
    published.mkdir()
    old_dump = write_global(published, stamp="20240101-000000", articles=[
        ArticleVersion(id="LEGIARTI000006896265", num="L441-3", etat="VIGUEUR",
                       date_debut="2018-11-25", text=OLD_TEXT)])
    write_global(published, stamp="20250713-140000", articles=[
        ArticleVersion(id="LEGIARTI000006896265", num="L441-3", etat="VIGUEUR",
                       date_debut="2018-11-25", text=OLD_TEXT)])
    write_increment(published, stamp="20261201-213000", articles=[
        ArticleVersion(id="LEGIARTI000051000001", num="L441-3", etat="VIGUEUR",
                       date_debut="2026-12-01", text=NEW_TEXT)])
    downloads = tmp_path / "legi"
    with _archive_site(published) as url:
        env = {**svp_env, "SVP_VEILLE_LEGI_URL": url}
        assert "3 archive(s) téléchargée(s)" in _ok(env, tmp_path, "veille", "download",
                                                     str(downloads))
        assert "0 archive(s) téléchargée(s)" in _ok(env, tmp_path, "veille", "download",
                                                    str(downloads))
    assert sorted(path.name for path in downloads.iterdir()) == sorted(
        path.name for path in published.iterdir())
    # The folder: the newest dump and what follows it, not the older dump.
    out = _ok(svp_env, tmp_path, "veille", "import", str(downloads))
    assert old_dump.name not in out and out.count(" fichiers lus") == 2
    assert "Aucune nouvelle archive" in _ok(svp_env, tmp_path, "veille", "import",
                                            str(downloads))
    # DILA unreachable: one line, non-zero.
    result = run_svp("veille", "download", str(downloads),
                     env={**svp_env, "SVP_VEILLE_LEGI_URL": "http://127.0.0.1:9/"}, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Erreur") and "Téléchargement des archives LEGI impossible" in line


def test_the_digest_reads_references_with_the_associations_usual_names(
        svp_env: dict[str, str], tmp_path: Path) -> None:
    names = tmp_path / "noms.jsonl"
    names.write_text(json.dumps({
        "key": "logement-2026", "nature": "loi", "number": "2026-321", "date": "2026-04-02",
        "title": "relative au logement abordable", "names": ["Logement abordable"],
        "cid": None}, ensure_ascii=False) + "\n", encoding="utf-8")
    env = {**svp_env, "SVP_VEILLE_TEXTS_FILE": str(names)}
    _ok(env, tmp_path, "init")
    # Imported, then revised this month: the letter has it (a bare import does not count).
    for version, answer in (("v1", "Réponse."), ("v2", "Réponse complétée.")):
        entries = tmp_path / f"{version}.jsonl"
        entries.write_text(json.dumps({
            "id": "LA", "question": "Que change la loi Logement abordable ?", "answer": answer,
            "legal_references": ["loi Logement abordable"]}, ensure_ascii=False) + "\n",
            encoding="utf-8")
        _ok(env, tmp_path, "kb", "import", str(entries))
    letter = tmp_path / "lettre.html"
    _ok(env, tmp_path, "digest", date.today().strftime("%Y-%m"), "-o", str(letter))
    page = letter.read_text(encoding="utf-8")
    # Known only from the association's file: the letter links its normalised form.
    assert "loi n° 2026-321 du 2 avril 2026 (Logement abordable)</a>" in page
