"""Fixtures of the CLI tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def svp_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of an `svp` process on the test database, with its own data folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVP_")}
    env.update({
        "SVP_DATABASE_URL": database_url,
        "SVP_DATA_DIR": str(tmp_path / "var"),
        "SVP_INDEX_DIR": str(tmp_path / "var" / "index"),
        "SVP_EMBEDDER": "e5-small-int4",
    })
    return env
