"""Rows written as an older schema had them: the models know later columns, these tables not."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, MetaData, Table

from knowledge.people import advisers
from knowledge.store.models import UserRole
from knowledge.timeutil import utcnow


def adviser_with_plain_secret(engine: Engine, secret: str, *,
                              enrolled: timedelta = timedelta(0)) -> datetime:
    """An adviser « camille » enrolled with a TOTP secret in clear, as 0013 stored it."""
    users = Table("users", MetaData(), autoload_with=engine)  # the table as it is now
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(users.insert().values(
            login="camille", display_name="Camille", role=UserRole.ADVISER.value,
            password_hash=advisers.hash_password("un mot de passe solide"), active=True,
            created_at=now, password_changed_at=now, totp_secret=secret,
            totp_enabled_at=now - enrolled))
    return now
