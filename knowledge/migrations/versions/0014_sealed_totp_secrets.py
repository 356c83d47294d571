"""second factor: TOTP secrets sealed at rest (column widened, secrets in clear encrypted)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 10:00:00

The key comes from the caller: `knowledge.store.migrate.upgrade(engine, secret_keys=[...])`,
which `svp` fills from SVP_SECRET_KEY or the key file of the data folder. A database holding
secrets in clear refuses to upgrade without a key, and since the whole upgrade runs in one
transaction, nothing has changed then. The downgrade opens the secrets again (with the key)
or refuses the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from knowledge.people.sealed_secrets import SecretKeyError, SecretSealer, is_sealed

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_PLAIN_LENGTH = 64
_SEALED_LENGTH = 255
_USERS = sa.table('users', sa.column('id', sa.Integer()),
                  sa.column('totp_secret', sa.String()))


def _sealer(count: int, what: str) -> SecretSealer:
    keys = list(context.config.attributes.get("secret_keys") or ())
    if not keys:
        raise SecretKeyError(
            f"la base contient {count} secret(s) de double authentification {what} et aucune "
            "clé de chiffrement n'a été donnée à la migration 0014 : rien n'a changé ; "
            "donnez la clé (SVP_SECRET_KEY, ou le fichier secret.key du dossier des données) "
            "et relancez.")
    return SecretSealer(keys)


def _stored_secrets() -> list[tuple[int, str]]:
    rows = op.get_bind().execute(sa.select(_USERS.c.id, _USERS.c.totp_secret).where(
        _USERS.c.totp_secret.is_not(None)).order_by(_USERS.c.id))
    return [(row.id, row.totp_secret) for row in rows]


def _store(user_id: int, value: str) -> None:
    op.get_bind().execute(_USERS.update().where(_USERS.c.id == user_id).values(
        totp_secret=value))


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot change a column's type in place, and Alembic's batch mode copies the
        # table then drops the old one: with foreign keys on, that drop deletes (cascade) the
        # sessions, recovery codes and API tokens of every account. Native column statements
        # (SQLite >= 3.35) touch nothing else.
        op.execute(f'ALTER TABLE users ADD COLUMN totp_secret_resized VARCHAR({new})')
        op.execute('UPDATE users SET totp_secret_resized = totp_secret')
        op.execute('ALTER TABLE users DROP COLUMN totp_secret')
        op.execute('ALTER TABLE users RENAME COLUMN totp_secret_resized TO totp_secret')
        return
    op.alter_column('users', 'totp_secret', existing_type=sa.String(length=old),
                    type_=sa.String(length=new), existing_nullable=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # Freed space is zeroed rather than left with the secrets in clear in it.
        op.execute('PRAGMA secure_delete=ON')
    _resize(_PLAIN_LENGTH, _SEALED_LENGTH)
    plain = [(user_id, value) for user_id, value in _stored_secrets() if not is_sealed(value)]
    if not plain:
        return
    sealer = _sealer(len(plain), "en clair")
    for user_id, value in plain:
        _store(user_id, sealer.seal(value))


def downgrade() -> None:
    sealed = [(user_id, value) for user_id, value in _stored_secrets() if is_sealed(value)]
    if sealed:
        sealer = _sealer(len(sealed), "chiffrés")
        for user_id, value in sealed:
            _store(user_id, sealer.open(value))
    _resize(_SEALED_LENGTH, _PLAIN_LENGTH)
