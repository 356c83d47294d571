"""`svp backup ...` as an operator runs the restore drill: create, list, restore, check, search."""

from __future__ import annotations

import os
import secrets
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backup_data import drop_database, fill, ranking, table_checksums
from click.testing import Result
from svp_process import run_svp
from typer.testing import CliRunner

from knowledge.people.sealed_secrets import SecretSealer
from knowledge.runtime import Knowledge
from knowledge.store import backup, migrate
from knowledge.store.db import make_engine, sqlite_url_for
from svp.cli import app
from svp.cli.base import OperatorError

KEY = secrets.token_urlsafe(32)


def _svp(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def _ok(env: dict[str, str], *args: str) -> Result:
    result = _svp(env, *args)
    assert result.exit_code == 0 and result.exception is None, (result.output, result.exception)
    return result


def _refusal(env: dict[str, str], *args: str) -> str:
    result = _svp(env, *args)
    assert isinstance(result.exception, OperatorError), (result.output, result.exception)
    message = str(result.exception)
    assert "\n" not in message
    return message


@pytest.fixture
def source_env(svp_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The service's environment: its database, its key, its backup folder."""
    return {**svp_env, "SVP_SECRET_KEY": KEY, "SVP_BACKUP_DIR": str(tmp_path / "backups")}


@pytest.fixture
def filled(knowledge: Knowledge) -> Knowledge:
    """The service's database with a small desk, its secrets sealed under KEY."""
    fill(knowledge, sealer=SecretSealer([KEY]))
    return knowledge


@pytest.fixture
def target_env(source_env: dict[str, str], database_url: str, tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A new server: an empty database of the same kind, its own data folder, the saved key."""
    if database_url.startswith("sqlite"):
        url = sqlite_url_for(tmp_path / "new-server" / "svp.db")
        server = None
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create("svp_restore")
    yield {**source_env, "SVP_DATABASE_URL": url, "SVP_DATA_DIR": str(tmp_path / "new-server"),
           "SVP_INDEX_DIR": str(tmp_path / "new-server" / "index")}
    if server is not None:
        drop_database(server, url)


def _archive(env: dict[str, str]) -> Path:
    _ok(env, "backup", "create")
    return backup.archives(backup_dir=Path(env["SVP_BACKUP_DIR"]))[0]


def test_the_restore_drill_gives_back_the_rows_the_index_and_the_search(
        filled: Knowledge, source_env: dict[str, str], target_env: dict[str, str],
        e5_embedder: Any) -> None:
    before = ranking(filled)
    created = _ok(source_env, "backup", "create")
    assert "Sauvegarde créée : " in created.stdout and "9 fiche(s)" in created.stdout
    assert "2 question(s)" in created.stdout and "1 jeton(s) d'API" in created.stdout
    archive = backup.archives(backup_dir=Path(source_env["SVP_BACKUP_DIR"]))[0]
    listed = _ok(source_env, "backup", "list").stdout
    assert archive.name in listed and f"schéma {migrate.head_revision()}" in listed
    assert "Archive intacte" in _ok(source_env, "backup", "verify", str(archive)).stdout

    restored = _ok(target_env, "backup", "restore", str(archive))
    assert "lignes vérifiées, égales au manifeste" in restored.stdout
    assert "Index reconstruit depuis les vecteurs restaurés : 8 fiche(s)" in restored.stdout
    assert "Attention" not in restored.output  # the same key: the secrets open
    assert "Index cohérent" in _ok(target_env, "index", "check").stdout
    engine = make_engine(target_env["SVP_DATABASE_URL"])
    knowledge = Knowledge(engine=engine, embedder_factory=lambda: e5_embedder,
                          index_dir=Path(target_env["SVP_INDEX_DIR"]))
    try:
        restored_rows, source_rows = table_checksums(engine), table_checksums(filled.engine)
        # The rebuild noted how far this index has read: the one row that moved, on purpose.
        assert restored_rows.pop("index_readers")[0] == source_rows.pop("index_readers")[0]
        assert restored_rows == source_rows
        assert ranking(knowledge) == before
    finally:
        knowledge.close()


def test_a_database_with_data_is_replaced_only_with_force(
        filled: Knowledge, source_env: dict[str, str], target_env: dict[str, str]) -> None:
    archive = _archive(source_env)
    _ok(target_env, "backup", "restore", str(archive))
    message = _refusal(target_env, "backup", "restore", str(archive))
    assert "n'est pas vide" in message and "--force" in message
    forced = _ok(target_env, "backup", "restore", str(archive), "--force")
    assert "Données remplacées" in forced.stdout


def test_a_restore_under_another_key_warns_in_one_line(
        filled: Knowledge, source_env: dict[str, str], target_env: dict[str, str]) -> None:
    archive = _archive(source_env)
    other = {**target_env, "SVP_SECRET_KEY": secrets.token_urlsafe(32)}
    result = _ok(other, "backup", "restore", str(archive))
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Attention")]
    assert len(warnings) == 1
    assert SecretSealer([KEY]).key_id in warnings[0] and "double authentification" in warnings[0]


def test_an_archive_of_another_kind_is_refused_saying_which(
        source_env: dict[str, str], tmp_path: Path, postgres_server: Any) -> None:
    sqlite_env = {**source_env, "SVP_DATABASE_URL": sqlite_url_for(tmp_path / "lite.db")}
    _ok(sqlite_env, "init")
    archive = _archive(sqlite_env)
    url = postgres_server.create("svp_restore")
    try:
        message = _refusal({**source_env, "SVP_DATABASE_URL": url}, "backup", "restore",
                           str(archive))
    finally:
        drop_database(postgres_server, url)
    assert "sauvegarde SQLite et la base cible est PostgreSQL" in message


def test_retention_keeps_the_newest_archives_after_each_create(
        database_url: str, source_env: dict[str, str]) -> None:
    env = {**source_env, "SVP_BACKUP_KEEP": "2"}
    for _ in range(3):
        last = _ok(env, "backup", "create")
    assert "Rétention : 1 ancienne(s) archive(s) supprimée(s)" in last.stdout
    folder = Path(env["SVP_BACKUP_DIR"])
    kept = backup.archives(backup_dir=folder)
    assert len(kept) == 2
    assert "1 fichier(s) supprimé(s), 1 archive(s) gardée(s)" in _ok(
        {**env, "SVP_BACKUP_KEEP": "1"}, "backup", "prune").stdout
    assert backup.archives(backup_dir=folder) == kept[:1]
    _ok({**env, "SVP_BACKUP_KEEP": "0"}, "backup", "create")
    assert len(backup.archives(backup_dir=folder)) == 2


def test_a_missing_archive_or_an_empty_folder_is_said_plainly(
        source_env: dict[str, str], tmp_path: Path) -> None:
    assert "Aucune sauvegarde" in _ok(source_env, "backup", "list").stdout
    assert "archive introuvable" in _refusal(source_env, "backup", "restore",
                                             str(tmp_path / "absente.tar"))


def _flip(path: Path) -> None:
    with tarfile.open(path) as tar:
        member = tar.getmembers()[1]
    data = bytearray(path.read_bytes())
    for offset in range(member.offset_data + 100, member.offset_data + 116):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.slow  # `svp` in child processes, as an operator runs it
def test_damaged_archives_fail_in_one_line_and_leave_the_database_as_it_was(
        filled: Knowledge, source_env: dict[str, str], target_env: dict[str, str],
        tmp_path: Path) -> None:
    archive = _archive(source_env)
    _ok(target_env, "backup", "restore", str(archive))
    engine = make_engine(target_env["SVP_DATABASE_URL"])
    # The restore's index notes its watermark from a thread: that row may still move.
    before = table_checksums(engine, skip={"index_readers"})
    engine.dispose()
    damaged = {name: tmp_path / f"{name}.tar" for name in ("flipped", "truncated", "random")}
    damaged["flipped"].write_bytes(archive.read_bytes())
    _flip(damaged["flipped"])
    damaged["truncated"].write_bytes(archive.read_bytes()[:archive.stat().st_size // 2])
    damaged["random"].write_bytes(os.urandom(50_000))
    for name, path in damaged.items():
        result = run_svp("backup", "restore", str(path), "--force", env=target_env,
                         cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, (name, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("Erreur : "), (name, result.stderr)
        assert "Traceback" not in result.stderr
    assert table_checksums(engine, skip={"index_readers"}) == before
    engine.dispose()
