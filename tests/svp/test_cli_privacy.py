"""`svp privacy purge|export-asker|erase-asker`, run as an operator would, on the real databases."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from svp_process import run_svp

from knowledge.desk import tickets
from knowledge.people import askers, organisations
from knowledge.store.db import make_engine, make_session_factory, unit_of_work
from knowledge.store.models import Asker, InboxUpdate, Ticket, TicketStatus
from knowledge.timeutil import utcnow

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes


def _ok(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = run_svp(*args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _one_line_error(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = run_svp(*args, env=env, cwd=cwd)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Erreur"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def _world(env: dict[str, str], cwd: Path) -> int:
    """An initialised base with an asker, an old closed question and an old inbox row."""
    _ok(env, cwd, "init")
    engine = make_engine(env["SVP_DATABASE_URL"])
    with unit_of_work(make_session_factory(engine)) as session:
        org = organisations.create(session=session, name="Habitat 06",
                                   kind=organisations.parse_kind("esh"), departement="06",
                                   actor="t")
        asker = askers.register_pending(session=session, telegram_user_id=606060606,
                                        chat_id=606060606, telegram_username="lbianchi",
                                        full_name="Lucia Bianchi", email="l.bianchi@h06.fr",
                                        organisation_id=org.id)
        askers.approve(session=session, asker_id=asker.id, actor="t")
        ticket = tickets.submit(session=session, asker_id=asker.id,
                                text="Lucia Bianchi : le bail mobilité est-il possible ?")
        ticket.status = TicketStatus.ANSWERED.value
        ticket.answered_at = utcnow() - timedelta(days=800)
        session.add(InboxUpdate(update_id=1, chat_id=606060606, kind="message", payload={},
                                received_at=utcnow() - timedelta(days=40),
                                processed_at=utcnow() - timedelta(days=40)))
        asker_id = asker.id
    engine.dispose()
    return asker_id


def test_purge_dry_run_then_purge_print_french_counts(svp_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    _world(svp_env, tmp_path)
    dry = _ok(svp_env, tmp_path, "privacy", "purge", "--dry-run")
    assert "Simulation" in dry
    assert any(line.split()[-1] == "1" for line in dry.splitlines()
               if "Questions closes anonymisées" in line)
    assert any(line.split()[-1] == "1" for line in dry.splitlines()
               if "Mises à jour Telegram" in line)
    done = _ok(svp_env, tmp_path, "privacy", "purge")
    assert "Purge effectuée" in done
    again = _ok(svp_env, tmp_path, "privacy", "purge", "--dry-run")
    assert [line.split()[-1] for line in again.splitlines() if "Total" in line] == ["0"]
    engine = make_engine(svp_env["SVP_DATABASE_URL"])
    with make_session_factory(engine)() as session:
        ticket = session.query(Ticket).one()
        assert ticket.asker_id is None and "Bianchi" not in ticket.text
    engine.dispose()


def test_export_then_erase_an_asker(svp_env: dict[str, str], tmp_path: Path) -> None:
    asker_id = _world(svp_env, tmp_path)
    data = json.loads(_ok(svp_env, tmp_path, "privacy", "export-asker", str(asker_id)))
    assert data["demandeur"]["nom"] == "Lucia Bianchi"
    target = tmp_path / "lucia.csv"
    _ok(svp_env, tmp_path, "privacy", "export-asker", str(asker_id), "--format", "csv",
        "--output", str(target))
    rows = dict(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows["demandeur.courriel"] == "l.bianchi@h06.fr"
    erased = _ok(svp_env, tmp_path, "privacy", "erase-asker", str(asker_id), "--yes")
    assert f"Données du demandeur {asker_id} effacées" in erased
    engine = make_engine(svp_env["SVP_DATABASE_URL"])
    with make_session_factory(engine)() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None and asker.full_name is None and asker.email is None
        assert "Bianchi" not in session.query(Ticket).one().text
        assert session.query(InboxUpdate).count() == 0
    engine.dispose()


def test_bad_ids_formats_and_refusals_are_one_line_errors(svp_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    asker_id = _world(svp_env, tmp_path)
    assert "introuvable" in _one_line_error(svp_env, tmp_path, "privacy", "export-asker",
                                            "999999")
    assert "numéro de demandeur invalide" in _one_line_error(
        svp_env, tmp_path, "privacy", "erase-asker", "douze", "--yes")
    assert "format inconnu" in _one_line_error(svp_env, tmp_path, "privacy", "export-asker",
                                               str(asker_id), "--format", "xml")
    assert "impossible d'écrire" in _one_line_error(
        svp_env, tmp_path, "privacy", "export-asker", str(asker_id), "--output",
        str(tmp_path / "absent" / "x.json"))
    # Without --yes and nobody to answer the question, nothing is erased.
    refused = run_svp("privacy", "erase-asker", str(asker_id), env=svp_env, cwd=tmp_path)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    engine = make_engine(svp_env["SVP_DATABASE_URL"])
    with make_session_factory(engine)() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None and asker.full_name == "Lucia Bianchi"
    engine.dispose()
