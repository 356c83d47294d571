"""`svp org`, `svp asker`, `svp adviser link-code` and `svp bot` as an operator uses them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge.people import askers, organisations
from knowledge.store.db import make_engine, make_session_factory, unit_of_work
from knowledge.store.models import AskerStatus, Outbox, User
from svp.cli import app

SVP = Path(sys.executable).with_name("svp")


def _run(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.output


def test_org_add_list_and_invite_prints_the_code_last(database_url: str, tmp_path: Path) -> None:
    code, out = _run(database_url, tmp_path, "org", "add", "Habitat 13", "--kind", "oph",
                     "--departement", "13")
    assert code == 0 and "Habitat 13" in out
    code, out = _run(database_url, tmp_path, "org", "list")
    assert code == 0 and "Habitat 13" in out and "oph" in out
    code, out = _run(database_url, tmp_path, "org", "invite", "habitat 13")
    assert code == 0
    invite = out.strip().splitlines()[-1]
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        found = organisations.find_by_invite_code(session=session, code=invite)
        assert found is not None and found.name == "Habitat 13"
    engine.dispose()


def test_org_add_twice_is_refused(database_url: str, tmp_path: Path) -> None:
    _run(database_url, tmp_path, "org", "add", "Habitat 13", "--departement", "13")
    code, out = _run(database_url, tmp_path, "org", "add", "Habitat 13", "--departement", "13")
    assert code != 0 and "existe déjà" in out


def test_org_add_without_a_departement_is_refused(database_url: str, tmp_path: Path) -> None:
    code, out = _run(database_url, tmp_path, "org", "add", "Habitat sans département")
    _, listed = _run(database_url, tmp_path, "org", "list")
    assert code != 0 and "Indiquez le département de l'organisme" in out
    assert "Habitat sans département" not in listed


def test_asker_list_approve_block(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        org = organisations.create(session=session, name="Logis", kind=organisations.parse_kind(
            "esh"), departement="84", actor="t")
        asker_id = askers.register_pending(
            session=session, telegram_user_id=55, chat_id=55, telegram_username=None,
            full_name="Jean Martin", email="jean@logis.fr", organisation_id=org.id).id
    code, out = _run(database_url, tmp_path, "asker", "list", "--status", "pending")
    assert code == 0 and "Jean Martin" in out and "en attente" in out
    code, out = _run(database_url, tmp_path, "asker", "approve", str(asker_id))
    assert code == 0 and "validé" in out
    with unit_of_work(factory) as session:
        assert askers.get(session=session, asker_id=asker_id).status == "approved"
        assert session.query(Outbox).count() == 1  # "inscription validée" queued for Telegram
    code, out = _run(database_url, tmp_path, "asker", "block", str(asker_id), "--raison", "test")
    assert code == 0
    with unit_of_work(factory) as session:
        assert askers.get(session=session, asker_id=asker_id).status == AskerStatus.BLOCKED
    code, out = _run(database_url, tmp_path, "asker", "approve", "999")
    assert code != 0 and "introuvable" in out
    engine.dispose()


def test_adviser_link_code_prints_the_command_to_send(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        session.add(User(login="claire", display_name="Claire", password_hash="x"))
    code, out = _run(database_url, tmp_path, "adviser", "link-code", "claire")
    assert code == 0 and out.strip().splitlines()[-1].startswith("/conseiller ")
    code, out = _run(database_url, tmp_path, "adviser", "link-code", "personne")
    assert code != 0
    engine.dispose()


@pytest.mark.slow  # a child process
@pytest.mark.parametrize("token", ["", "pas-un-jeton"])
def test_bot_without_a_valid_token_fails_with_one_line(tmp_path: Path, token: str) -> None:
    env = {**os.environ, "SVP_DATA_DIR": str(tmp_path), "SVP_TELEGRAM_TOKEN": token}
    result = subprocess.run([str(SVP), "bot"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SVP_TELEGRAM_TOKEN" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a child process
def test_bot_in_webhook_mode_needs_the_secret_the_web_workers_share(tmp_path: Path) -> None:
    env = {**os.environ, "SVP_DATA_DIR": str(tmp_path),
           "SVP_TELEGRAM_TOKEN": "123456789:" + "A" * 35,
           "SVP_TELEGRAM_WEBHOOK_URL": "https://svp.example.org/telegram/webhook"}
    env.pop("SVP_TELEGRAM_WEBHOOK_SECRET", None)
    result = subprocess.run([str(SVP), "bot"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode != 0 and "SVP_TELEGRAM_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_org_domain_add_list_remove(database_url: str, tmp_path: Path) -> None:
    _run(database_url, tmp_path, "org", "add", "Habitat 13", "--kind", "oph",
         "--departement", "13")
    _run(database_url, tmp_path, "org", "add", "Logis 83", "--departement", "83")
    code, out = _run(database_url, tmp_path, "org", "domain", "add", "Habitat 13",
                     "@Habitat13.FR")
    assert code == 0 and "Domaines de Habitat 13 : habitat13.fr." in out
    _run(database_url, tmp_path, "org", "domain", "add", "Habitat 13", "h13.fr")
    code, out = _run(database_url, tmp_path, "org", "domain", "add", "Logis 83", "h13.fr")
    assert code != 0 and "déjà celui de l'organisme « Habitat 13 »" in out
    code, out = _run(database_url, tmp_path, "org", "domain", "add", "Logis 83", "pas un domaine")
    assert code != 0
    code, out = _run(database_url, tmp_path, "org", "domain", "list")
    assert "Habitat 13 : h13.fr, habitat13.fr" in out and "Logis 83 : aucun domaine" in out
    code, out = _run(database_url, tmp_path, "org", "domain", "remove", "Habitat 13", "h13.fr")
    assert code == 0 and "Domaines de Habitat 13 : habitat13.fr." in out
    code, out = _run(database_url, tmp_path, "org", "domain", "remove", "Habitat 13", "h13.fr")
    assert code != 0 and "n'est pas un domaine de Habitat 13" in out
