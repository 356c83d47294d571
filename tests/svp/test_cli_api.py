"""`svp api token create|list|revoke`: the token printed once, on the last line."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from knowledge.people import api_tokens
from knowledge.store.api_models import ApiToken
from knowledge.store.db import make_engine, make_session_factory
from svp.cli import main


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at the test database and a temporary data directory."""
    monkeypatch.setenv("SVP_DATABASE_URL", database_url)
    monkeypatch.setenv("SVP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SVP_INDEX_DIR", str(tmp_path / "index"))
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


def _tokens(database_url: str) -> list[ApiToken]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
    finally:
        engine.dispose()


def test_create_list_and_revoke_a_token(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    run(monkeypatch, capsys, "user", "add", "camille", "--password-stdin",
        stdin="un mot de passe solide\n")
    code, out, err = run(monkeypatch, capsys, "api", "token", "create", "Intranet",
                         "--scope", "write", "--expires", "90", "--user", "camille")
    assert code == 0, err
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("svp_") and " " not in secret
    assert "« Intranet » créé pour « camille » (écriture" in out
    [token] = _tokens(cli_env)
    assert token.token_hash == api_tokens.digest(secret) and token.expires_at is not None
    code, out, _ = run(monkeypatch, capsys, "api", "token", "list")
    assert code == 0 and secret not in out
    assert f"{token.id}\tIntranet\t{secret[:12]}…\tcamille\twrite\tactif" in out
    code, out, _ = run(monkeypatch, capsys, "api", "token", "revoke", str(token.id))
    assert code == 0 and "révoqué" in out
    code, out, _ = run(monkeypatch, capsys, "api", "token", "list")
    assert "\trévoqué\t" in out
    code, _, err = run(monkeypatch, capsys, "api", "token", "revoke", str(token.id))
    assert code == 1 and err.strip() == f"Erreur : Le jeton n° {token.id} est déjà révoqué."


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "personne"], "Compte introuvable : personne"),
    (["--user", "camille", "--scope", "admin"], "Portée inconnue « admin »"),
    (["--user", "camille", "--expires", "0"], "de 1 à 3650 jours"),
    ([], "--user"),
])
def test_bad_options_are_one_french_line_and_nothing_is_created(
        cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    run(monkeypatch, capsys, "user", "add", "camille", "--password-stdin",
        stdin="un mot de passe solide\n")
    code, out, err = run(monkeypatch, capsys, "api", "token", "create", "BI", *args)
    assert code != 0 and message in err and "Traceback" not in err + out
    assert "svp_" not in out
    assert _tokens(cli_env) == []


def test_without_user_the_token_goes_to_the_only_admin(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for login, role in (("camille", "adviser"), ("dominique", "admin")):
        run(monkeypatch, capsys, "user", "add", login, "--role", role, "--password-stdin",
            stdin="un mot de passe solide\n")
    code, out, err = run(monkeypatch, capsys, "api", "token", "create", "BI", "--scope", "read")
    assert code == 0, err
    assert "« BI » créé pour « dominique » (lecture" in out
    [token] = _tokens(cli_env)
    assert token.token_hash == api_tokens.digest(out.strip().splitlines()[-1])
    # A second admin makes the owner ambiguous: the operator must name it.
    run(monkeypatch, capsys, "user", "add", "eden", "--role", "admin", "--password-stdin",
        stdin="un autre mot de passe solide\n")
    code, out, err = run(monkeypatch, capsys, "api", "token", "create", "Intranet")
    assert code != 0 and "Traceback" not in err + out
    assert err.strip() == ("Erreur : Plusieurs administrateurs (dominique, eden) : précisez le "
                           "compte avec --user LOGIN.")
    assert len(_tokens(cli_env)) == 1


def test_an_empty_list_says_how_to_create_one(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run(monkeypatch, capsys, "init")
    code, out, _ = run(monkeypatch, capsys, "api", "token", "list")
    assert code == 0 and "svp api token create" in out
