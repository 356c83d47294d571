"""`svp secrets ...` and the key of secrets at rest, run as a real child process."""

from __future__ import annotations

import io
import logging
import os
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from old_schema import adviser_with_plain_secret
from sqlalchemy import Engine, select
from svp_process import run_svp

from knowledge.people import advisers, second_factor
from knowledge.people.sealed_secrets import SecretSealer, UnreadableSecret
from knowledge.store import migrate
from knowledge.store.db import make_engine, make_session_factory, unit_of_work
from knowledge.store.models import User, UserRole
from svp import redaction, secret_keys


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """An engine on the database the child processes use."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _key() -> str:
    return secrets.token_urlsafe(32)


def _key_file(env: dict[str, str]) -> Path:
    return Path(env["SVP_DATA_DIR"]) / "secret.key"


def _enrol(engine: Engine, sealer: SecretSealer, login: str = "camille") -> str:
    """An account with its second factor on, through the real services; its secret."""
    with unit_of_work(make_session_factory(engine)) as session:
        user = advisers.create(session=session, login=login, password="un mot de passe solide",
                               role=UserRole.ADVISER, actor="test")
        secret = second_factor.start_enrolment(session=session, user_id=user.id, sealer=sealer)
        second_factor.confirm_enrolment(session=session, user_id=user.id, actor="test",
                                        code=pyotp.TOTP(secret).now(), sealer=sealer)
    return secret


def _stored(engine: Engine, login: str = "camille") -> str:
    with make_session_factory(engine)() as session:
        value = session.scalars(select(User.totp_secret).where(User.login == login)).one()
    assert value is not None
    return value


def _next_code_verifies(engine: Engine, sealer: SecretSealer, secret: str) -> bool:
    """Log in with the next step's code (the enrolment used the current one)."""
    with unit_of_work(make_session_factory(engine)) as session:
        user = session.scalars(select(User).where(User.login == "camille")).one()
        return second_factor.verify(session=session, user=user, sealer=sealer,
                                    code=pyotp.TOTP(secret).at(time.time() + 30))


def _file_sealer(env: dict[str, str]) -> SecretSealer:
    return SecretSealer(secret_keys.read_key_file(_key_file(env)))


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("Erreur : ")
    return lines[0]


@pytest.mark.slow  # a child process
def test_init_creates_the_key_file_once_readable_by_its_owner_only(
        svp_env: dict[str, str], tmp_path: Path) -> None:
    first = run_svp("secrets", "init", env=svp_env, cwd=tmp_path)
    assert first.returncode == 0 and "Clé de chiffrement créée" in first.stdout, first.stderr
    path = _key_file(svp_env)
    assert path.stat().st_mode & 0o777 == 0o600
    keys = secret_keys.read_key_file(path)
    again = run_svp("secrets", "init", env=svp_env, cwd=tmp_path)
    assert again.returncode == 0 and "déjà en place" in again.stdout
    assert secret_keys.read_key_file(path) == keys and len(keys) == 1
    assert len(keys[0].encode()) >= 32


@pytest.mark.slow  # a child process
def test_a_short_key_is_refused_with_one_french_line(svp_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    env = {**svp_env, "SVP_SECRET_KEY": "trop-courte"}
    for command in (("secrets", "check"), ("init",), ("serve", "--port", "0")):
        result = run_svp(*command, env=env, cwd=tmp_path)
        assert result.returncode == 1
        assert "SVP_SECRET_KEY : clé de chiffrement trop courte (11 octets" in _one_error_line(
            result.stderr)
    previous = {**svp_env, "SVP_SECRET_KEY": _key(), "SVP_SECRET_KEY_PREVIOUS": "courte"}
    result = run_svp("secrets", "check", env=previous, cwd=tmp_path)
    assert result.returncode == 1 and "SVP_SECRET_KEY_PREVIOUS" in _one_error_line(result.stderr)


@pytest.mark.slow  # a child process
def test_a_wrong_key_is_named_as_the_cause(svp_env: dict[str, str], tmp_path: Path,
                                           db: Engine) -> None:
    original = SecretSealer([_key()])
    _enrol(db, original)
    env = {**svp_env, "SVP_SECRET_KEY": _key()}
    result = run_svp("secrets", "check", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "1 illisible(s)" in result.stdout
    line = _one_error_line(result.stderr)
    assert "1 secret(s) illisible(s)" in line and "camille" in line
    rotate = run_svp("secrets", "rotate", env=env, cwd=tmp_path)
    assert rotate.returncode == 1 and "camille" in _one_error_line(rotate.stderr)
    assert original.is_current(_stored(db))  # refused before anything changed


@pytest.mark.slow  # a child process
def test_rotating_the_key_file_seals_everything_under_a_new_key(
        svp_env: dict[str, str], tmp_path: Path, db: Engine) -> None:
    assert run_svp("secrets", "init", env=svp_env, cwd=tmp_path).returncode == 0
    old = _file_sealer(svp_env)
    secret = _enrol(db, old)
    result = run_svp("secrets", "rotate", env=svp_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 secret(s) de double authentification chiffré(s) sous la nouvelle clé" in (
        result.stdout)
    keys = secret_keys.read_key_file(_key_file(svp_env))
    new = SecretSealer(keys)
    assert len(keys) == 1 and new.key_id != old.key_id
    assert _key_file(svp_env).stat().st_mode & 0o777 == 0o600
    stored = _stored(db)
    with pytest.raises(UnreadableSecret, match="autre clé"):
        old.open(stored)  # the old key no longer opens the row
    assert new.open(stored) == secret and _next_code_verifies(db, new, secret)
    check = run_svp("secrets", "check", env=svp_env, cwd=tmp_path)
    assert check.returncode == 0 and "1 sous la clé actuelle, 0 sous une ancienne" in (
        check.stdout)


@pytest.mark.slow  # a child process
def test_rotating_environment_keys_reads_with_the_previous_one(
        svp_env: dict[str, str], tmp_path: Path, db: Engine) -> None:
    old_key, new_key = _key(), _key()
    secret = _enrol(db, SecretSealer([old_key]))
    rotating = {**svp_env, "SVP_SECRET_KEY": new_key, "SVP_SECRET_KEY_PREVIOUS": old_key}
    result = run_svp("secrets", "rotate", env=rotating, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 secret(s) de double authentification chiffré(s) sous SVP_SECRET_KEY" in (
        result.stdout)
    assert not _key_file(svp_env).exists()  # the variable is the key: no file made
    only_new = {**svp_env, "SVP_SECRET_KEY": new_key}
    assert run_svp("secrets", "check", env=only_new, cwd=tmp_path).returncode == 0
    with pytest.raises(UnreadableSecret):
        SecretSealer([old_key]).open(_stored(db))
    assert _next_code_verifies(db, SecretSealer([new_key]), secret)
    again = run_svp("secrets", "rotate", env=only_new, cwd=tmp_path)
    assert again.returncode == 0 and "Aucun secret à chiffrer à nouveau" in again.stdout
    assert "SVP_SECRET_KEY_PREVIOUS" in again.stdout


@pytest.mark.slow  # a child process
def test_moving_from_the_key_file_to_the_variable_keeps_every_secret(
        svp_env: dict[str, str], tmp_path: Path, db: Engine) -> None:
    assert run_svp("secrets", "init", env=svp_env, cwd=tmp_path).returncode == 0
    secret = _enrol(db, _file_sealer(svp_env))
    variable = {**svp_env, "SVP_SECRET_KEY": _key()}
    result = run_svp("secrets", "rotate", env=variable, cwd=tmp_path)
    assert result.returncode == 0 and "1 secret(s)" in result.stdout, result.stderr
    _key_file(svp_env).unlink()  # no longer needed
    assert run_svp("secrets", "check", env=variable, cwd=tmp_path).returncode == 0
    assert _next_code_verifies(db, SecretSealer([variable["SVP_SECRET_KEY"]]), secret)


# A rotation whose process dies (os._exit: no cleanup at all) or fails at each step.
_INTERRUPTED_ROTATION = textwrap.dedent("""
    import os
    import sys

    from knowledge.people import second_factor
    from svp import secret_keys

    point = sys.argv[1]
    reseal, write = second_factor.reseal_secrets, secret_keys.write_key_file
    writes = []

    def reseal_then_stop(**kwargs):
        if point == "killed before the re-encryption":
            os._exit(137)
        if point == "failing during the re-encryption":
            raise RuntimeError("panne simulée")
        count = reseal(**kwargs)
        if point == "killed before the commit":
            kwargs["session"].flush()  # the rows are rewritten, the transaction still open
            os._exit(137)
        return count

    def write_then_stop(path, keys):
        writes.append(keys)
        if point == "killed before the old key leaves the file" and len(writes) == 2:
            os._exit(137)
        write(path, keys)

    second_factor.reseal_secrets = reseal_then_stop
    secret_keys.write_key_file = write_then_stop
    from svp.cli import main

    sys.argv = ["svp", "secrets", "rotate"]
    main()
""")


@pytest.mark.parametrize("point", ["killed before the re-encryption",
                                   "killed before the commit",
                                   "killed before the old key leaves the file",
                                   "failing during the re-encryption"])
@pytest.mark.slow  # a child process
def test_an_interrupted_rotation_leaves_every_secret_readable(
        point: str, svp_env: dict[str, str], tmp_path: Path, db: Engine) -> None:
    assert run_svp("secrets", "init", env=svp_env, cwd=tmp_path).returncode == 0
    before = secret_keys.read_key_file(_key_file(svp_env))
    secret = _enrol(db, _file_sealer(svp_env))
    script = tmp_path / "interrupted_rotation.py"
    script.write_text(_INTERRUPTED_ROTATION, encoding="utf-8")
    stopped = subprocess.run([sys.executable, str(script), point], env=svp_env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
    assert stopped.returncode == (2 if point.startswith("failing") else 137), stopped.stderr
    if point.startswith("failing"):  # nothing changed: not the rows, not the file
        assert secret_keys.read_key_file(_key_file(svp_env)) == before
    assert _file_sealer(svp_env).open(_stored(db)) == secret
    check = run_svp("secrets", "check", env=svp_env, cwd=tmp_path)
    assert check.returncode == 0 and "0 illisible(s)" in check.stdout, check.stderr
    finish = run_svp("secrets", "rotate", env=svp_env, cwd=tmp_path)
    assert finish.returncode == 0, finish.stderr
    keys = secret_keys.read_key_file(_key_file(svp_env))
    assert len(keys) == 1 and keys[0] not in before
    assert _next_code_verifies(db, SecretSealer(keys), secret)


@pytest.mark.slow  # a child process
def test_upgrading_a_database_with_secrets_in_clear_seals_them_with_zero_configuration(
        empty_database_url: str, tmp_path: Path) -> None:
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, "0013")
    secret = pyotp.random_base32()
    adviser_with_plain_secret(engine, secret)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVP_")}
    env.update({"SVP_DATABASE_URL": empty_database_url, "SVP_DATA_DIR": str(tmp_path / "var"),
                "SVP_INDEX_DIR": str(tmp_path / "var" / "index")})
    result = run_svp("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Clé de chiffrement des secrets créée" in result.stderr
    stored = _stored(engine)
    assert secret not in stored and _file_sealer(env).open(stored) == secret
    assert _next_code_verifies(engine, _file_sealer(env), secret)
    engine.dispose()


def test_every_key_is_masked_in_the_log(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    from svp.cli.base import configured_secrets

    current, previous = _key(), _key()
    monkeypatch.setenv("SVP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SVP_SECRET_KEY", current)
    monkeypatch.setenv("SVP_SECRET_KEY_PREVIOUS", f"{previous}, ")
    in_file = _key()
    secret_keys.create_key_file(tmp_path / "var" / "secret.key")
    secret_keys.write_key_file(tmp_path / "var" / "secret.key", [in_file])
    factory = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.secret_keys")
    logger.addHandler(handler)
    try:
        redaction.install(configured_secrets())
        logger.warning("keys %s %s %s", current, previous, in_file)
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(factory)
    line = stream.getvalue()
    assert current not in line and previous not in line and in_file not in line
    assert line.count(redaction.MASK) == 3
