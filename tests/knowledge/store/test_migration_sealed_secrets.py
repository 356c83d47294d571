"""Migration 0014: TOTP secrets written in clear before it are sealed, or nothing changes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from old_schema import adviser_with_plain_secret
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import load_only

from knowledge.people import advisers, second_factor
from knowledge.people.sealed_secrets import SecretKeyError, SecretSealer, UnreadableSecret
from knowledge.store import migrate
from knowledge.store.db import make_engine, make_session_factory, unit_of_work
from knowledge.store.login_security import RecoveryCode
from knowledge.store.models import User, WebSession
from knowledge.timeutil import utcnow

KEY = secrets.token_urlsafe(32)


@pytest.fixture
def engine_at_0013(empty_database_url: str) -> Iterator[Engine]:
    """A database at revision 0013, before secrets were sealed."""
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, "0013")
    yield engine
    engine.dispose()


def _user_with_plain_secret(engine: Engine) -> str:
    """An enrolled account as 0013 stored it: secret in clear, a session, a recovery code."""
    secret = pyotp.random_base32()
    adviser_with_plain_secret(engine, secret, enrolled=timedelta(days=30))
    with unit_of_work(make_session_factory(engine)) as session:
        user = session.scalars(select(User).options(load_only(User.id, User.login))).one()
        advisers.open_session(session=session, user=user, hours=12, ip=None, user_agent=None)
        session.add(RecoveryCode(user_id=user.id, code_hash="$argon2id$x", created_at=utcnow()))
    return secret


def _stored(engine: Engine) -> str | None:
    with make_session_factory(engine)() as session:
        return session.scalars(select(User.totp_secret)).one()


def _dependants(engine: Engine) -> tuple[int, int]:
    with make_session_factory(engine)() as session:
        return (int(session.scalar(select(func.count()).select_from(WebSession)) or 0),
                int(session.scalar(select(func.count()).select_from(RecoveryCode)) or 0))


def test_upgrade_seals_plain_secrets_and_their_codes_still_verify(
        engine_at_0013: Engine) -> None:
    secret = _user_with_plain_secret(engine_at_0013)
    migrate.upgrade(engine_at_0013, secret_keys=[KEY])
    stored = _stored(engine_at_0013)
    sealer = SecretSealer([KEY])
    assert stored is not None and stored.startswith(f"v1:{sealer.key_id}:")
    assert secret not in stored and sealer.open(stored) == secret
    # SQLite rebuilt the column: the account's sessions and codes (ON DELETE CASCADE) stay.
    assert _dependants(engine_at_0013) == (1, 1)
    with unit_of_work(make_session_factory(engine_at_0013)) as session:
        user = session.scalars(select(User)).one()
        assert second_factor.verify(session=session, user=user, sealer=sealer,
                                    code=pyotp.TOTP(secret).at(time.time()))
    url = engine_at_0013.url
    if url.get_backend_name() == "sqlite":  # not left in clear in the file or its WAL either
        path = Path(str(make_url(url).database))
        for name in (path.name, path.name + "-wal"):
            if path.with_name(name).exists():
                assert secret.encode("ascii") not in path.with_name(name).read_bytes(), name


def test_upgrade_without_a_key_refuses_and_leaves_everything_as_it_was(
        engine_at_0013: Engine) -> None:
    secret = _user_with_plain_secret(engine_at_0013)
    with pytest.raises(SecretKeyError, match="1 secret\\(s\\) de double authentification en "
                                             "clair et aucune clé"):
        migrate.upgrade(engine_at_0013)
    assert migrate.current_revision(engine_at_0013) == "0013"
    assert _stored(engine_at_0013) == secret
    assert _dependants(engine_at_0013) == (1, 1)
    migrate.upgrade(engine_at_0013, secret_keys=[KEY])  # and it goes through with a key
    assert migrate.is_up_to_date(engine_at_0013)


def test_upgrade_without_a_key_is_fine_when_no_secret_is_stored(
        engine_at_0013: Engine) -> None:
    migrate.upgrade(engine_at_0013)
    assert migrate.is_up_to_date(engine_at_0013)


def test_downgrade_opens_the_secrets_again_with_the_key_only(engine_at_0013: Engine) -> None:
    secret = _user_with_plain_secret(engine_at_0013)
    # Up to 0014 only: later migrations have downgrades of their own, not under test here.
    migrate.upgrade(engine_at_0013, "0014", secret_keys=[KEY])
    sealed = _stored(engine_at_0013)
    with pytest.raises(SecretKeyError, match="chiffrés et aucune clé"):
        migrate.downgrade(engine_at_0013, "0013")
    with pytest.raises(UnreadableSecret, match="autre clé"):
        migrate.downgrade(engine_at_0013, "0013", secret_keys=[secrets.token_urlsafe(32)])
    assert migrate.current_revision(engine_at_0013) == "0014" and _stored(engine_at_0013) == sealed
    migrate.downgrade(engine_at_0013, "0013", secret_keys=[KEY])
    assert migrate.current_revision(engine_at_0013) == "0013"
    assert _stored(engine_at_0013) == secret and _dependants(engine_at_0013) == (1, 1)
