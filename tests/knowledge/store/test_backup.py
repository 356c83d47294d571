"""Backups: an archive restored into an empty database gives back every row and the same search."""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from backup_data import drop_database, entry_checksums, fill, ranking, table_checksums
from sqlalchemy import Engine, text

import knowledge.retrieval.embeddings
import knowledge.store.models  # noqa: F401  (every table known to the metadata)
from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.runtime import Knowledge
from knowledge.store import backup, migrate
from knowledge.store.backup import BackupError
from knowledge.store.db import Base, make_engine, sqlite_url_for


@pytest.fixture
def sealer() -> SecretSealer:
    """The key of the TOTP secrets of the source database."""
    return SecretSealer([secrets.token_urlsafe(32)])


@pytest.fixture
def filled(knowledge: Knowledge, sealer: SecretSealer) -> Knowledge:
    """The test database with a small desk written through the services."""
    fill(knowledge, sealer=sealer)
    return knowledge


def _fresh(database_url: str, path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield sqlite_url_for(path)
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create("svp_restore")
    yield url
    drop_database(server, url)


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema at all, of the same kind as the test database."""
    yield from _fresh(database_url, tmp_path / "restored" / "svp.db", request)


@pytest.fixture
def other_fresh_url(database_url: str, tmp_path: Path,
                    request: pytest.FixtureRequest) -> Iterator[str]:
    """A second database with no schema, of the same kind as the test database."""
    yield from _fresh(database_url, tmp_path / "other" / "svp.db", request)


@pytest.fixture
def fresh_engine(fresh_url: str) -> Iterator[Engine]:
    """An engine on the fresh database (opened lazily: an SQLite file appears on first use)."""
    engine = make_engine(fresh_url)
    yield engine
    engine.dispose()


def _restored_knowledge(engine: Engine, embedder: Any, index_dir: Path) -> Knowledge:
    return Knowledge(engine=engine, embedder_factory=lambda: embedder, index_dir=index_dir)


def test_restore_into_an_empty_database_gives_every_row_and_the_same_search(
        filled: Knowledge, database_url: str, fresh_url: str, fresh_engine: Engine,
        tmp_path: Path, e5_embedder: Any) -> None:
    before = ranking(filled)
    archive = backup.create(database_url=database_url, backup_dir=tmp_path / "backups",
                            key_id="k1")
    fresh_engine.dispose()
    report = backup.restore(path=archive.path, database_url=fresh_url)
    assert report.counts == archive.manifest.counts == backup.table_counts(engine=filled.engine)
    assert table_checksums(fresh_engine) == table_checksums(filled.engine)
    assert entry_checksums(fresh_engine) == entry_checksums(filled.engine)
    assert len(entry_checksums(fresh_engine)) == 9 and not report.schema_behind
    restored = _restored_knowledge(fresh_engine, e5_embedder, tmp_path / "restored-index")
    try:
        assert restored.rebuild_index() == 8  # 7 active entries of the set, 1 published answer
        assert ranking(restored) == before
        assert restored.check_index() == []
    finally:
        restored.close()


def test_the_manifest_describes_the_archive_which_only_its_owner_reads(
        filled: Knowledge, database_url: str, tmp_path: Path, sealer: SecretSealer) -> None:
    archive = backup.create(database_url=database_url, backup_dir=tmp_path / "backups",
                            key_id=sealer.key_id)
    assert backup.ARCHIVE_NAME.match(archive.path.name)
    assert stat.S_IMODE(archive.path.stat().st_mode) == 0o600
    with tarfile.open(archive.path) as tar:
        assert tar.getnames() == ["manifest.json", archive.manifest.dump_name]
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        body = json.loads(manifest_file.read())
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    assert body["format"] == "svp-backup" and body["dialect"] == dialect
    assert body["database_revision"] == body["code_head_revision"] == migrate.head_revision()
    assert set(body["counts"]) == set(Base.metadata.tables) | {"alembic_version"}
    assert body["counts"]["entries"] == 9 and body["counts"]["tickets"] == 2
    assert body["counts"]["api_tokens"] == 1 and body["counts"]["audit_events"] > 10
    assert body["secret_key_id"] == sealer.key_id
    assert body["files"][body["dump"]]["size"] == archive.manifest.dump_size
    assert len(body["files"][body["dump"]]["sha256"]) == 64
    assert not [path for path in (tmp_path / "backups").iterdir() if path != archive.path]


def test_a_non_empty_target_is_refused_unless_forced(
        filled: Knowledge, database_url: str, fresh_url: str, fresh_engine: Engine,
        tmp_path: Path) -> None:
    archive = backup.create(database_url=database_url, backup_dir=tmp_path / "backups")
    backup.restore(path=archive.path, database_url=fresh_url)
    with fresh_engine.begin() as connection:
        connection.execute(text("DELETE FROM entry_phrasings"))  # any change will do
    _add_entry(fresh_engine)
    changed = backup.table_counts(engine=fresh_engine)
    fresh_engine.dispose()
    with pytest.raises(BackupError, match=r"n'est pas vide.*--force"):
        backup.restore(path=archive.path, database_url=fresh_url)
    assert backup.table_counts(engine=fresh_engine) == changed
    fresh_engine.dispose()
    report = backup.restore(path=archive.path, database_url=fresh_url, force=True)
    assert report.replaced_rows > 0
    assert backup.table_counts(engine=fresh_engine) == archive.manifest.counts
    assert entry_checksums(fresh_engine) == entry_checksums(filled.engine)


def _add_entry(engine: Engine) -> None:
    from knowledge.store.db import make_session_factory, unit_of_work

    with unit_of_work(make_session_factory(engine)) as session:
        entries.create(session=session, actor="test", content=EntryFields(
            question="Une fiche écrite après la sauvegarde ?", answer="Elle disparaît."))


def test_a_database_holding_only_what_init_writes_counts_as_empty(
        filled: Knowledge, database_url: str, fresh_url: str, fresh_engine: Engine,
        tmp_path: Path) -> None:
    migrate.upgrade(fresh_engine)  # `svp init` run on the new server before the restore
    fresh_engine.dispose()
    archive = backup.create(database_url=database_url, backup_dir=tmp_path / "backups")
    report = backup.restore(path=archive.path, database_url=fresh_url)
    assert report.replaced_rows == 0
    assert table_checksums(fresh_engine) == table_checksums(filled.engine)


def _flip_dump_bytes(path: Path) -> None:
    with tarfile.open(path) as tar:
        member = tar.getmembers()[1]
    data = bytearray(path.read_bytes())
    middle = member.offset_data + member.size // 2
    for offset in range(middle, middle + 16):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 3 // 5])


def _random_file(path: Path) -> None:
    path.write_bytes(os.urandom(200_000))


def _foreign_tar(path: Path) -> None:
    path.unlink()
    with tarfile.open(path, "w") as tar:
        body = b"rien a voir"
        member = tarfile.TarInfo("notes.txt")
        member.size = len(body)
        tar.addfile(member, io.BytesIO(body))


def _newer_schema(path: Path) -> None:
    _rewrite_manifest(path, database_revision="9999")


def _rewrite_manifest(path: Path, **changes: object) -> None:
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        files = {member.name: tar.extractfile(member).read()  # type: ignore[union-attr]
                 for member in members}
    manifest = json.loads(files["manifest.json"])
    manifest.update(changes)
    files["manifest.json"] = json.dumps(manifest).encode()
    path.unlink()
    with tarfile.open(path, "w") as tar:
        for name, body in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(body)
            tar.addfile(member, io.BytesIO(body))


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "flipped bytes in the dump": (_flip_dump_bytes, "endommagée"),
    "truncated": (_truncate, "tronquée"),
    "random bytes": (_random_file, "pas une archive de sauvegarde lisible"),
    "a tar of something else": (_foreign_tar, "pas une sauvegarde du SVP"),
    "a newer schema": (_newer_schema, "inconnue de ce code"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_or_foreign_archive_is_refused_and_changes_nothing(
        filled: Knowledge, database_url: str, fresh_url: str, fresh_engine: Engine,
        tmp_path: Path, damage: str) -> None:
    archive = backup.create(database_url=database_url, backup_dir=tmp_path / "backups")
    backup.restore(path=archive.path, database_url=fresh_url)
    _add_entry(fresh_engine)  # the target differs from the archive: a change would show
    before = table_checksums(fresh_engine)
    fresh_engine.dispose()
    spoil, words = DAMAGES[damage]
    spoil(archive.path)
    with pytest.raises(BackupError, match=words) as refused:
        backup.restore(path=archive.path, database_url=fresh_url, force=True)
    assert "\n" not in str(refused.value)
    assert table_checksums(fresh_engine) == before
    if damage != "a newer schema":
        with pytest.raises(BackupError):
            backup.verify(path=archive.path)


def test_an_archive_of_another_kind_of_database_is_refused(
        tmp_path: Path, postgres_server: Any) -> None:
    sqlite_url = sqlite_url_for(tmp_path / "svp.db")
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    engine.dispose()
    archive = backup.create(database_url=sqlite_url, backup_dir=tmp_path / "backups")
    target = postgres_server.create("svp_restore")
    try:
        with pytest.raises(BackupError, match="sauvegarde SQLite et la base cible est "
                                              "PostgreSQL"):
            backup.restore(path=archive.path, database_url=target)
        migrate.upgrade(make_engine(target))
        pg_archive = backup.create(database_url=target, backup_dir=tmp_path / "backups")
        with pytest.raises(BackupError, match="sauvegarde PostgreSQL et la base cible est "
                                              "SQLite"):
            backup.restore(path=pg_archive.path,
                           database_url=sqlite_url_for(tmp_path / "other.db"))
    finally:
        drop_database(postgres_server, target)


def test_an_archive_older_than_the_code_is_restored_then_upgraded(
        other_fresh_url: str, fresh_url: str, tmp_path: Path) -> None:
    chain = _revisions()
    engine = make_engine(other_fresh_url)
    migrate.upgrade(engine, chain[-2])
    engine.dispose()
    archive = backup.create(database_url=other_fresh_url, backup_dir=tmp_path / "backups")
    assert archive.manifest.database_revision == chain[-2]
    assert archive.manifest.code_revision == migrate.head_revision()
    report = backup.restore(path=archive.path, database_url=fresh_url)
    assert report.schema_behind
    restored = make_engine(fresh_url)
    try:
        assert migrate.current_revision(restored) == chain[-2]
        migrate.upgrade(restored)
        assert migrate.is_up_to_date(restored)
    finally:
        restored.dispose()


def _revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def test_an_uninitialised_database_is_not_backed_up_and_leaves_no_file(
        empty_database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    if empty_database_url.startswith("sqlite"):
        make_engine(empty_database_url).connect().close()  # an empty file
    with pytest.raises(BackupError, match="pas initialisée"):
        backup.create(database_url=empty_database_url, backup_dir=folder)
    assert list(folder.iterdir()) == []


def test_retention_keeps_the_newest_archives(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    made = [backup.create(database_url=database_url, backup_dir=folder).path for _ in range(4)]
    stale = folder / ".svp-backup-crashed.tar.partial"
    stale.write_bytes(b"half an archive")
    day_ago = time.time() - 2 * backup.PARTIAL_MAX_AGE_SECONDS
    os.utime(stale, (day_ago, day_ago))
    assert backup.archives(backup_dir=folder) == made[::-1]  # same second: numbered in order
    assert backup.prune(backup_dir=folder, keep=0) == [stale]
    assert backup.archives(backup_dir=folder) == made[::-1]
    removed = backup.prune(backup_dir=folder, keep=2)
    assert sorted(removed) == sorted(made[:2])
    assert sorted(folder.iterdir()) == sorted(made[2:])


def test_the_last_success_is_the_newest_readable_archive(database_url: str,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    assert backup.last_success_timestamp(backup_dir=folder) == 0.0
    archive = backup.create(database_url=database_url, backup_dir=folder)
    broken = folder / "svp-backup-29990101-000000.tar"
    broken.write_bytes(os.urandom(4096))  # newer by its name, but unreadable
    assert backup.last_success_timestamp(backup_dir=folder) == (
        archive.manifest.created_at.timestamp())
    listed = backup.list_archives(backup_dir=folder)
    assert [item.path for item in listed] == [broken, archive.path]
    assert listed[0].manifest is None and listed[0].problem
    assert listed[1].manifest == archive.manifest


def test_the_libpq_target_carries_no_password() -> None:
    uri, password = backup.libpq_target(
        "postgresql+psycopg://svp:s%40cret@db.example:5433/svp?sslmode=require")
    assert uri == "postgresql://svp@db.example:5433/svp?sslmode=require"
    assert password == "s@cret"


def test_a_database_the_service_still_writes_is_not_replaced(
        filled: Knowledge, database_url: str, fresh_url: str, fresh_engine: Engine,
        tmp_path: Path) -> None:
    from datetime import timedelta

    from knowledge.desk import heartbeat
    from knowledge.store.db import make_session_factory, unit_of_work
    from knowledge.store.desk_tables import ProcessHeartbeat
    from knowledge.timeutil import utcnow

    archive = backup.create(database_url=database_url, backup_dir=tmp_path / "backups")
    backup.restore(path=archive.path, database_url=fresh_url)
    with unit_of_work(make_session_factory(fresh_engine)) as session:
        heartbeat.beat(session=session)  # the bot of the new server is running
    before = table_checksums(fresh_engine)
    fresh_engine.dispose()
    with pytest.raises(BackupError, match="service semble en marche"):
        backup.restore(path=archive.path, database_url=fresh_url, force=True)
    assert table_checksums(fresh_engine) == before
    with unit_of_work(make_session_factory(fresh_engine)) as session:
        session.get_one(ProcessHeartbeat, heartbeat.BOT_DELIVERY).last_seen_at = (
            utcnow() - timedelta(minutes=5))
    fresh_engine.dispose()
    backup.restore(path=archive.path, database_url=fresh_url, force=True)  # stopped since


def test_a_backup_taken_while_the_service_writes_is_consistent(
        database_url: str, fresh_url: str, tmp_path: Path) -> None:
    import threading

    from knowledge.store.db import make_session_factory, unit_of_work

    engine = make_engine(database_url)
    stop = threading.Event()
    written = []

    def write() -> None:
        while not stop.is_set():
            with unit_of_work(make_session_factory(engine)) as session:
                entry = entries.create(session=session, actor="test", content=EntryFields(
                    question=f"Question écrite pendant la sauvegarde n° {len(written)} ?",
                    answer="Une réponse."))
                written.append(entry.id)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        archives = []
        for _ in range(3):
            wanted, deadline = len(written) + 3, time.monotonic() + 30
            while len(written) < wanted and time.monotonic() < deadline:
                time.sleep(0.01)  # writes go on between (and during) the backups
            archives.append(backup.create(database_url=database_url,
                                          backup_dir=tmp_path / "backups"))
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    counts = [archive.manifest.counts for archive in archives]
    assert counts[0]["entries"] < counts[1]["entries"] < counts[2]["entries"] <= len(written)
    for archive in archives:  # an entry, its revision and its audit event, or none of them
        assert archive.manifest.counts["entries"] == archive.manifest.counts["entry_revisions"]
    report = backup.restore(path=archives[-1].path, database_url=fresh_url)
    assert report.counts == archives[-1].manifest.counts
