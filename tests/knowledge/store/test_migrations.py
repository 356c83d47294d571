"""Migrations: empty -> head, one step down and up again, and the schema matches the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import knowledge.retrieval.embeddings
import knowledge.store.models  # noqa: F401  (every model must be known to the metadata)
from knowledge.store import migrate
from knowledge.store.db import Base, make_engine


def revisions_oldest_first() -> list[str]:
    """Every revision shipped with the code, from the first to the head."""
    script = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def schema_differences(engine: Engine) -> list[object]:
    """What autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def table_names(engine: Engine) -> set[str]:
    """Tables of the database, without Alembic's own."""
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.fixture
def empty_engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on a database with no schema at all."""
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def test_empty_database_upgrades_to_head_matching_the_models(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert migrate.is_up_to_date(empty_engine)
    assert schema_differences(empty_engine) == []
    assert table_names(empty_engine) == set(Base.metadata.tables)


def test_head_goes_one_step_down_and_up_again(empty_engine: Engine) -> None:
    chain = revisions_oldest_first()
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "-1")
    previous = chain[-2] if len(chain) > 1 else None
    assert migrate.current_revision(empty_engine) == previous
    assert not migrate.is_up_to_date(empty_engine)
    assert schema_differences(empty_engine) != []  # the check does see a missing step
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert schema_differences(empty_engine) == []


def test_every_revision_goes_down_and_up_again(empty_engine: Engine) -> None:
    for revision in revisions_oldest_first():
        migrate.upgrade(empty_engine, revision)
        tables = table_names(empty_engine)
        migrate.downgrade(empty_engine, "-1")
        migrate.upgrade(empty_engine, revision)
        assert migrate.current_revision(empty_engine) == revision
        assert table_names(empty_engine) == tables


def test_downgrade_to_base_leaves_no_table(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert migrate.current_revision(empty_engine) is None
    assert table_names(empty_engine) == set()


def test_upgrade_twice_changes_nothing(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
