"""The password hasher runs at its production cost outside the tests' lightened processes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge.people import advisers
from knowledge.store.models import UserRole

PASSWORD = "un mot de passe solide"


def test_production_hashes_are_argon2id_at_64_mib_and_3_passes(
        production_password_hashing: None) -> None:
    assert advisers.hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_at_a_lower_cost_is_upgraded_at_the_next_login(
        session: Session, production_password_hashing: None) -> None:
    user = advisers.create(session=session, login="camille", password=PASSWORD,
                           role=UserRole.ADVISER, actor="test")
    user.password_hash = advisers.PasswordHasher(time_cost=1, memory_cost=1024,
                                                 parallelism=1).hash(PASSWORD)
    session.commit()
    assert advisers.authenticate(session=session, login="camille", password=PASSWORD,
                                 ip="10.0.0.1") is not None
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert advisers.matches_hash(user.password_hash, PASSWORD)
