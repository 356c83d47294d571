"""`svp init` and `svp kb ...` as an operator runs them: real databases, real embedder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from svp.cli import main

ENTRIES = [
    {"id": "K1", "question": "Qui paie la taxe d'enlèvement des ordures ménagères ?",
     "answer": "Le locataire, par les charges récupérables.", "theme": "Charges",
     "tags": ["TEOM"]},
    {"id": "K2", "question": "Comment contester un supplément de loyer de solidarité ?",
     "answer": "Par un recours gracieux auprès du bailleur.", "theme": "Loyers"},
    {"id": "K3", "question": "Quel est le délai de préavis en zone tendue ?",
     "answer": "Un mois.", "theme": "Congé"},
]

TYPER_ENGLISH = ("Show this message", "Usage:", "Commands", "[default", "[required]", "<str>",
                 "<int>", "<path>", "<bool>", "Error", "Try '")


@dataclass
class Outcome:
    """What an operator sees: exit code, standard output and standard error."""

    code: int
    out: str
    err: str


class Svp:
    """Runs the real `svp` entry point in this process, on a chosen database."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 database_url: str, data_dir: Path) -> None:
        self.capsys = capsys
        monkeypatch.chdir(data_dir.parent)  # no stray .env file
        for key in [key for key in os.environ if key.startswith("SVP_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("SVP_DATABASE_URL", database_url)
        monkeypatch.setenv("SVP_DATA_DIR", str(data_dir))
        monkeypatch.setenv("TERMINAL_WIDTH", "200")
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str) -> Outcome:
        """Run `svp ARGS...` and return what it printed and its exit code."""
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["svp", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        captured = self.capsys.readouterr()
        code = exit_info.value.code
        return Outcome(code if isinstance(code, int) else 1, captured.out, captured.err)


def assert_operator_error(outcome: Outcome, *words: str) -> None:
    """A non-zero exit, one French line on stderr, no traceback."""
    assert outcome.code != 0
    assert "Traceback" not in outcome.err + outcome.out
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("Erreur")
    for word in words:
        assert word in lines[0]


@pytest.fixture
def svp(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        database_url: str, tmp_path: Path) -> Svp:
    """`svp` on a migrated, empty test database."""
    return Svp(monkeypatch, capsys, database_url, tmp_path / "var")


@pytest.fixture
def entries_file(tmp_path: Path) -> Path:
    """A small JSONL file of three entries."""
    path = tmp_path / "fiches.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in ENTRIES),
                    encoding="utf-8")
    return path


@pytest.fixture
def loaded(svp: Svp, entries_file: Path) -> Svp:
    """`svp` on a database holding the three entries, imported by `svp kb import`."""
    outcome = svp("kb", "import", str(entries_file))
    assert outcome.code == 0, outcome.err
    return svp


def entry_number(svp: Svp, external_id: str) -> str:
    """The number `svp kb list` shows for an external id."""
    for line in svp("kb", "list", "--status", "all").out.splitlines():
        number, ext = line.split()[:2]
        if ext == external_id:
            return number
    raise AssertionError(f"{external_id} not listed")


# --- init -------------------------------------------------------------------------------------


def test_init_creates_the_database_then_changes_nothing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        empty_database_url: str, tmp_path: Path) -> None:
    svp = Svp(monkeypatch, capsys, empty_database_url, tmp_path / "var")
    first = svp("init")
    assert first.code == 0
    assert "Base de données prête" in first.out
    second = svp("init")
    assert second.code == 0
    assert "déjà à jour" in second.out
    assert svp("kb", "list").code == 0


def test_zero_configuration_uses_an_sqlite_file_under_the_data_dir(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    svp = Svp(monkeypatch, capsys, "", tmp_path / "var")
    monkeypatch.delenv("SVP_DATABASE_URL")
    assert svp("init").code == 0
    assert (tmp_path / "var" / "svp.db").exists()


# --- import -----------------------------------------------------------------------------------


def test_import_prints_a_french_summary_and_reimport_creates_nothing(
        svp: Svp, entries_file: Path) -> None:
    first = svp("kb", "import", str(entries_file))
    assert first.code == 0, first.err
    assert "créées : 3, mises à jour : 0, inchangées : 0, ignorées : 0" in first.out
    again = svp("kb", "import", str(entries_file))
    assert again.code == 0
    assert "créées : 0, mises à jour : 0, inchangées : 3, ignorées : 0" in again.out


def test_imported_entries_are_searchable_at_once(loaded: Svp) -> None:
    outcome = loaded("search", "qui paie la taxe sur les ordures ménagères ?", "--k", "1")
    assert outcome.code == 0, outcome.err
    assert "K1" in outcome.out


def test_import_with_bad_rows_imports_the_rest_and_lists_them(svp: Svp, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text("id;question;réponse\nB1;Bonne ?;Oui.\nB2;Sans réponse ?;\n",
                    encoding="utf-8")
    outcome = svp("kb", "import", str(path))
    assert outcome.code == 0
    assert "créées : 1" in outcome.out
    assert "ignorées : 1" in outcome.out
    assert "ligne 3, réponse : vide" in outcome.err


def test_strict_import_with_a_bad_row_writes_nothing_and_fails(svp: Svp, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text("id;question;réponse\nB1;Bonne ?;Oui.\nB2;Sans réponse ?;\n",
                    encoding="utf-8")
    outcome = svp("kb", "import", "--strict", str(path))
    assert outcome.code == 1
    assert "rien n'a été enregistré" in outcome.err
    assert "ligne 3, réponse : vide" in outcome.err
    assert "0 fiche(s)" in svp("kb", "list", "--status", "all").err


def test_import_with_forced_format(svp: Svp, tmp_path: Path) -> None:
    path = tmp_path / "fiches.txt"
    path.write_text('{"question": "Q ?", "answer": "R."}\n', encoding="utf-8")
    outcome = svp("kb", "import", "--format", "jsonl", str(path))
    assert outcome.code == 0, outcome.err
    assert "créées : 1" in outcome.out


# --- list, show, retire, reinstate ---------------------------------------------------------------


def test_list_shows_entries_and_filters_them(loaded: Svp) -> None:
    everything = loaded("kb", "list")
    assert everything.code == 0
    assert [line.split()[1] for line in everything.out.splitlines()] == ["K1", "K2", "K3"]
    assert "3 fiche(s)" in everything.err
    by_theme = loaded("kb", "list", "--theme", "Loyers")
    assert [line.split()[1] for line in by_theme.out.splitlines()] == ["K2"]
    by_text = loaded("kb", "list", "--search", "préavis")
    assert [line.split()[1] for line in by_text.out.splitlines()] == ["K3"]
    limited = loaded("kb", "list", "--limit", "2")
    assert len(limited.out.splitlines()) == 2
    assert "2 fiche(s) affichée(s) sur 3" in limited.err


def test_show_prints_the_entry_and_its_history(loaded: Svp) -> None:
    number = entry_number(loaded, "K1")
    assert loaded("kb", "retire", number, "--reason", "loi modifiée").code == 0
    outcome = loaded("kb", "show", "K1")
    assert outcome.code == 0
    assert f"Fiche {number} — identifiant K1 — retirée, révision 1" in outcome.out
    assert "Question : Qui paie la taxe d'enlèvement des ordures ménagères ?" in outcome.out
    assert "Le locataire, par les charges récupérables." in outcome.out
    assert "Étiquettes : TEOM" in outcome.out
    assert "Révision 1 (création), par Ligne de commande" in outcome.out
    assert "Retirée des suggestions, par Ligne de commande — motif : loi modifiée" in outcome.out
    assert loaded("kb", "show", number).out == outcome.out


def test_retire_then_reinstate(loaded: Svp) -> None:
    number = entry_number(loaded, "K2")
    retired = loaded("kb", "retire", number, "--reason", "obsolète")
    assert (retired.code, retired.out.strip()) == (0, f"Fiche {number} retirée.")
    assert "K2" not in loaded("kb", "list").out
    assert "[retirée]" in loaded("kb", "list", "--status", "retired").out
    assert_operator_error(loaded("kb", "retire", number, "--reason", "encore"), "déjà retirée")
    reinstated = loaded("kb", "reinstate", "K2")
    assert (reinstated.code, reinstated.out.strip()) == (0, f"Fiche {number} remise en service.")
    assert "K2" in loaded("kb", "list").out


def test_retire_requires_a_reason(loaded: Svp) -> None:
    outcome = loaded("kb", "retire", "K1")
    assert outcome.code == 2
    assert "Option obligatoire manquante : --reason" in outcome.err
    assert "Traceback" not in outcome.err


# --- export -----------------------------------------------------------------------------------


def test_export_jsonl_to_standard_output(loaded: Svp) -> None:
    outcome = loaded("kb", "export", "--format", "jsonl")
    assert outcome.code == 0
    records = [json.loads(line) for line in outcome.out.splitlines()]
    assert [record["id"] for record in records] == ["K1", "K2", "K3"]
    assert "3 fiche(s) exportée(s) (JSONL) sur la sortie standard" in outcome.err


def test_export_csv_to_standard_output_has_a_bom_and_semicolons(loaded: Svp) -> None:
    outcome = loaded("kb", "export", "--format", "csv")
    assert outcome.code == 0
    assert outcome.out.startswith("\ufeffidentifiant;question;réponse;")


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "jsonl"])
def test_export_to_a_file_reimports_unchanged(loaded: Svp, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"export.{suffix}"
    outcome = loaded("kb", "export", "-o", str(target))
    assert outcome.code == 0, outcome.err
    assert f"({suffix.upper()})" in outcome.err
    assert not list(tmp_path.glob(".export*"))
    again = loaded("kb", "import", "--strict", str(target))
    assert again.code == 0, again.err
    assert "créées : 0, mises à jour : 0, inchangées : 3, ignorées : 0" in again.out


def test_xlsx_export_is_a_workbook(loaded: Svp, tmp_path: Path) -> None:
    target = tmp_path / "fiches.xlsx"
    assert loaded("kb", "export", "--format", "xlsx", "-o", str(target)).code == 0
    workbook = load_workbook(target, read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert rows[0][:3] == ("identifiant", "question", "réponse")
    assert len(rows) == 4


# --- errors an operator can make ------------------------------------------------------------


def test_import_of_a_missing_file_fails_cleanly(svp: Svp, tmp_path: Path) -> None:
    assert_operator_error(svp("kb", "import", str(tmp_path / "absent.csv")), "introuvable")


def test_import_of_garbage_fails_cleanly(svp: Svp, tmp_path: Path) -> None:
    path = tmp_path / "bruit.csv"
    path.write_bytes(bytes(range(256)) * 16)
    assert_operator_error(svp("kb", "import", str(path)), "bruit.csv")
    empty = tmp_path / "vide.jsonl"
    empty.write_bytes(b"")
    assert_operator_error(svp("kb", "import", str(empty)), "vide")


def test_xlsx_export_without_output_file_fails_cleanly(loaded: Svp) -> None:
    assert_operator_error(loaded("kb", "export", "--format", "xlsx"), "-o")


def test_unknown_entry_fails_cleanly(loaded: Svp) -> None:
    assert_operator_error(loaded("kb", "show", "999999"), "introuvable", "999999")
    assert_operator_error(loaded("kb", "retire", "NOPE", "--reason", "x"), "introuvable")
    assert_operator_error(loaded("kb", "reinstate", "NOPE"), "introuvable")


def test_commands_on_an_uninitialised_database_fail_cleanly(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        empty_database_url: str, tmp_path: Path, entries_file: Path) -> None:
    svp = Svp(monkeypatch, capsys, empty_database_url, tmp_path / "var")
    for args in (("kb", "list"), ("kb", "show", "1"), ("kb", "export"),
                 ("kb", "import", str(entries_file))):
        assert_operator_error(svp(*args), "svp init")


def test_unknown_option_is_reported_in_french(svp: Svp) -> None:
    outcome = svp("kb", "list", "--bogus")
    assert outcome.code == 2
    assert "Option inconnue : --bogus" in outcome.err
    assert "Traceback" not in outcome.err


@pytest.mark.slow  # a child process
def test_unreachable_postgresql_fails_cleanly_in_a_real_process(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVP_")}
    env.update({"SVP_DATABASE_URL": "postgresql+psycopg://svp@127.0.0.1:1/svp",
                "SVP_DATA_DIR": str(tmp_path / "var")})
    script = Path(sys.executable).with_name("svp")
    for args in (["kb", "list"], ["init"]):
        result = subprocess.run([str(script), *args], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        outcome = Outcome(result.returncode, result.stdout, result.stderr)
        assert_operator_error(outcome, "base de données inaccessible")


@pytest.mark.slow  # a child process
def test_garbage_import_fails_cleanly_in_a_real_process(database_url: str,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "bruit.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVP_")}
    env.update({"SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path / "var")})
    result = subprocess.run([str(Path(sys.executable).with_name("svp")), "kb", "import",
                             str(path)], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert_operator_error(Outcome(result.returncode, result.stdout, result.stderr),
                          "classeur XLSX")


# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["kb"], ["kb", "import"], ["kb", "export"],
                                  ["kb", "list"], ["kb", "show"], ["kb", "retire"],
                                  ["kb", "reinstate"], ["db"], ["init"]])
def test_help_is_in_french(svp: Svp, args: list[str]) -> None:
    outcome = svp(*args, "--help")
    assert outcome.code == 0
    assert "Affiche cette aide et quitte." in outcome.out
    assert "Utilisation : svp" in outcome.out
    for english in TYPER_ENGLISH:
        assert english not in outcome.out, english


def test_every_command_has_french_help_machinery(svp: Svp) -> None:
    from typer.main import get_command

    from svp.cli import app

    def paths(command: object, prefix: list[str]) -> list[list[str]]:
        children = getattr(command, "commands", {})
        found = [prefix]
        for name, child in children.items():
            found += paths(child, [*prefix, name])
        return found

    for path in paths(get_command(app), []):
        outcome = svp(*path, "-h")
        assert outcome.code == 0, path
        for english in TYPER_ENGLISH:
            assert english not in outcome.out, (path, english)


def test_database_error_with_empty_message_still_gives_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]
                                                                 ) -> None:
    from sqlalchemy.exc import OperationalError

    import svp.cli as cli

    def broken(**_: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception(""))

    monkeypatch.setattr(cli, "load_commands", lambda argv=None: broken)
    monkeypatch.setattr("sys.argv", ["svp", "kb", "list"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "base de données inaccessible" in err


def test_import_refuses_personal_data_unless_allowed(svp: Svp, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text("id;question;réponse\nN1;Mme Haddad garde-t-elle son T4 ?;Oui.\n",
                    encoding="utf-8")
    refused = svp("kb", "import", str(path))
    assert refused.code == 1  # no valid row: nothing imported
    assert "ligne 2, question : données personnelles probables" in refused.err
    assert "Haddad" not in refused.out + refused.err
    strict = svp("kb", "import", "--strict", str(path))
    assert strict.code == 1 and "Import annulé" in strict.err
    allowed = svp("kb", "import", "--allow-personal-data", str(path))
    assert allowed.code == 0, allowed.err
    assert "créées : 1" in allowed.out
