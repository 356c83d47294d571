"""`svp user ...`, `svp serve` wiring and the demo data."""

from __future__ import annotations

import io
import itertools
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from knowledge.runtime import Knowledge
from knowledge.store.db import make_engine, make_session_factory
from knowledge.store.models import KnowledgeEntry, Organisation, Ticket, User
from svp import secret_keys
from svp.cli import main
from svp.settings import load_settings


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at the test database and a temporary data directory."""
    monkeypatch.setenv("SVP_DATABASE_URL", database_url)
    monkeypatch.setenv("SVP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SVP_INDEX_DIR", str(tmp_path / "index"))
    for name in ("SVP_TELEGRAM_TOKEN", "SVP_TELEGRAM_WEBHOOK_URL", "SVP_METRICS_TOKEN",
                 "SVP_SECRET_KEY", "SVP_SECRET_KEY_PREVIOUS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return database_url


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
        stdin: str = "") -> tuple[int, str, str]:
    """Run `svp ARGS` in this process; return the exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["svp", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_user_add_list_passwd_disable(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(monkeypatch, capsys, "user", "add", "camille", "--role", "admin",
                       "--name", "Camille Martin", "--password-stdin",
                       stdin="un mot de passe solide\n")
    assert code == 0 and "« camille » créé (administrateur)" in out
    code, out, _ = run(monkeypatch, capsys, "user", "list")
    assert "camille\tCamille Martin\tadministrateur\tactif" in out
    code, out, _ = run(monkeypatch, capsys, "user", "passwd", "camille", "--password-stdin",
                       stdin="un autre mot de passe\n")
    assert code == 0 and "sessions sont fermées" in out
    code, out, _ = run(monkeypatch, capsys, "user", "disable", "camille")
    assert code == 0
    code, out, _ = run(monkeypatch, capsys, "user", "list")
    assert "désactivé" in out


def test_user_add_errors_are_one_french_line(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(monkeypatch, capsys, "user", "add", "camille", "--password-stdin",
                       stdin="court\n")
    assert code == 1 and err.startswith("Erreur : Le mot de passe doit contenir")
    code, _, err = run(monkeypatch, capsys, "user", "add", "camille", "--role", "chef",
                       "--password-stdin", stdin="un mot de passe solide\n")
    assert code == 1 and "Rôle inconnu" in err and "Traceback" not in err
    code, _, err = run(monkeypatch, capsys, "user", "disable", "personne")
    assert code == 1 and "introuvable" in err


def test_serve_migrates_and_serves_the_admin(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    served: dict[str, Any] = {}

    def fake_run(app: FastAPI, **options: Any) -> None:
        served["app"], served["options"] = app, options
        with TestClient(app) as client:
            served["health"] = client.get("/healthz").json()
            served["queue"] = client.get("/queue", follow_redirects=False).status_code

    monkeypatch.setattr(uvicorn, "run", fake_run)
    code, out, _ = run(monkeypatch, capsys, "serve", "--port", "8123")
    assert code == 0
    assert served["options"]["host"] == "127.0.0.1" and served["options"]["port"] == 8123
    assert served["health"]["status"] == "ok"
    assert served["queue"] == 303
    assert "Bot Telegram : désactivé" in out and "http://127.0.0.1:8123/" in out


def test_serve_mounts_the_webhook_when_a_url_is_set(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    monkeypatch.setenv("SVP_TELEGRAM_TOKEN", "123456789:AAH" + "x" * 32)
    monkeypatch.setenv("SVP_TELEGRAM_WEBHOOK_URL", "https://svp.example/telegram/webhook")
    monkeypatch.setenv("SVP_TELEGRAM_WEBHOOK_SECRET", "secret-de-test")
    paths: list[str] = []

    def fake_run(app: FastAPI, **_options: Any) -> None:
        # The lifespan (which would call Telegram) is not entered: only the routes are checked.
        paths.extend(getattr(route, "path", "") for route in app.routes)
        client = TestClient(app)
        response = client.post("/telegram/webhook", json={"update_id": 1})
        paths.append(f"status:{response.status_code}")

    monkeypatch.setattr(uvicorn, "run", fake_run)
    code, out, _ = run(monkeypatch, capsys, "serve")
    assert code == 0 and "mode webhook" in out
    assert "/telegram/webhook" in paths
    assert "status:403" in paths  # no secret header: refused, and not redirected to login


def test_demo_fills_an_empty_database_once(admin_knowledge: Knowledge, demo_data: Path,
                                           tmp_path: Path) -> None:
    from svp import demo

    small = tmp_path / "demo.jsonl"
    with demo_data.open(encoding="utf-8") as source:
        small.write_text("".join(itertools.islice(source, 12)), encoding="utf-8")
    accounts = demo.create_demo(admin_knowledge, data_file=small)
    again = demo.create_demo(admin_knowledge, data_file=small)
    assert accounts is not None and again is None
    assert accounts.adviser_password != accounts.admin_password
    assert len(accounts.adviser_password) >= 12
    with admin_knowledge.session() as session:
        counts = {model.__name__: session.scalar(select(func.count()).select_from(model))
                  for model in (KnowledgeEntry, Organisation, Ticket, User)}
    assert counts == {"KnowledgeEntry": 12, "Organisation": len(demo.ORGANISATIONS),
                      "Ticket": len(demo.TICKETS), "User": 2}


def test_packaged_demo_file_is_the_shared_demo_data(demo_data: Path) -> None:
    from svp import demo

    assert demo.demo_file().read_bytes() == demo_data.read_bytes()


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")
def test_user_add_prompts_twice_and_refuses_different_passwords(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(monkeypatch, capsys, "user", "add", "camille",
                       stdin="un mot de passe solide\nun autre mot de passe\n")
    assert code == 1 and "différents" in err
    code, out, _ = run(monkeypatch, capsys, "user", "add", "camille",
                       stdin="un mot de passe solide\nun mot de passe solide\n")
    assert code == 0 and "créé (conseiller)" in out


def test_user_second_factor_off_lets_an_account_log_in_with_its_password_again(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from knowledge.people import second_factor
    from knowledge.store.db import make_engine, make_session_factory, unit_of_work

    engine = make_engine(cli_env)
    sessions = make_session_factory(engine)

    run(monkeypatch, capsys, "init")
    run(monkeypatch, capsys, "user", "add", "camille", "--password-stdin",
        stdin="un mot de passe solide\n")
    with unit_of_work(sessions) as session:
        user = session.scalars(select(User).where(User.login == "camille")).one()
        sealer = secret_keys.load(load_settings(), create=False).sealer()  # made by `init`
        secret = second_factor.start_enrolment(session=session, user_id=user.id, sealer=sealer)
        second_factor.confirm_enrolment(session=session, user_id=user.id, sealer=sealer,
                                        code=second_factor.current_code(secret), actor="test")
    code, out, _ = run(monkeypatch, capsys, "user", "second-factor-off", "camille")
    assert code == 0 and "retirée" in out
    with unit_of_work(sessions) as session:
        user = session.scalars(select(User).where(User.login == "camille")).one()
        assert not second_factor.is_enabled(user) and user.totp_secret is None
    engine.dispose()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


def test_serve_seals_second_factors_with_the_key_it_creates(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import uvicorn

    shown: dict[str, str] = {}

    def fake_run(app: FastAPI, **_options: Any) -> None:
        with TestClient(app, follow_redirects=False) as client:
            login = client.get("/login")
            client.post("/login", data={"login": "camille", "password": "un mot de passe solide",
                                        "csrf_token": _CSRF.findall(login.text)[0]})
            account = client.get("/account")
            enrol = client.post("/account/second-factor/start",
                                data={"csrf_token": _CSRF.findall(account.text)[0]})
            shown["secret"] = _TOTP_SECRET.findall(enrol.text)[0]

    run(monkeypatch, capsys, "init")
    run(monkeypatch, capsys, "user", "add", "camille", "--password-stdin",
        stdin="un mot de passe solide\n")
    key_file = tmp_path / "var" / "secret.key"
    key_file.unlink()  # as if there had never been one: `serve` makes it on its own
    monkeypatch.setattr(uvicorn, "run", fake_run)
    code, _out, err = run(monkeypatch, capsys, "serve")
    assert code == 0 and "Clé de chiffrement des secrets créée" in err
    assert key_file.stat().st_mode & 0o777 == 0o600
    engine = make_engine(cli_env)
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(User.totp_secret)).one()
    engine.dispose()
    sealer = secret_keys.load(load_settings(), create=False).sealer()
    assert stored is not None and shown["secret"] not in stored
    assert sealer.open(stored) == shown["secret"]
