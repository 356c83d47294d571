"""Alembic environment: runs on the connection the caller hands over in `config.attributes`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

import knowledge.retrieval.embeddings
import knowledge.store.models  # noqa: F401
from knowledge.store.db import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations spell the storage type, so they never import our column types.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    return False


def run_migrations_online() -> None:
    """Run the migrations on the connection given by `knowledge.store.migrate`."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
