"""Backups of the database: one tar archive (dump and manifest), its checks, restore, retention.

An archive holds `manifest.json` first (format, creation time, schema revisions, dialect, rows
per table, size and SHA-256 of the dump, fingerprint of the secrets key) and then the dump:
an SQLite file made with the online backup API, or a `pg_dump --format=custom` file. It is
written aside, synced, then linked under its final name, so a crash never leaves half an
archive under that name. A restore checks everything it can before it touches the target, and
changes it in one step: a file renamed over the SQLite database, one transaction on PostgreSQL.
The secrets key is never in an archive: it must be saved apart.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from knowledge.errors import DomainError
from knowledge.store import migrate
from knowledge.store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, sqlite_url_for

logger = logging.getLogger(__name__)

FORMAT = "svp-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DUMP_NAMES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
ARCHIVE_NAME = re.compile(r"^svp-backup-(\d{8}-\d{6})(?:-(\d+))?\.tar$")
PARTIAL_PREFIX = ".svp-backup-"
PARTIAL_MAX_AGE_SECONDS = 24 * 3600
# Rows `svp init` writes in every new database (reference data, the index counter): a
# database holding only those counts as empty.
REFERENCE_TABLES = frozenset({"alembic_version", "glossary_terms", "index_counter",
                              "reply_templates", "themes"})
CHUNK = 1 << 20
LIVE_PROCESS_SECONDS = 90  # a running bot writes its heartbeat every 10 s
PG_TIMEOUT_SECONDS = 3600
DIALECT_FR = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class BackupError(DomainError):
    """An archive or a target database refused; one French line saying why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What an archive says about itself."""

    created_at: datetime
    dialect: str
    database_revision: str | None
    code_revision: str
    counts: dict[str, int]
    dump_name: str
    dump_size: int
    dump_sha256: str
    key_id: str | None

    def to_json(self) -> dict[str, Any]:
        """The manifest as written in the archive."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "created_at": self.created_at.isoformat(), "dialect": self.dialect,
                "database_revision": self.database_revision,
                "code_head_revision": self.code_revision, "counts": self.counts,
                "files": {self.dump_name: {"size": self.dump_size, "sha256": self.dump_sha256}},
                "dump": self.dump_name, "secret_key_id": self.key_id}

    @classmethod
    def from_json(cls, data: object, *, label: str) -> Manifest:
        """Read a manifest; BackupError when it is not one of ours or is malformed."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError(f"« {label} » n'est pas une sauvegarde du SVP (manifeste inconnu) "
                              ": choisissez une archive faite par « svp backup create ».")
        if data.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"« {label} » est au format de sauvegarde "
                              f"{data.get('format_version')!r}, ce code lit le format "
                              f"{FORMAT_VERSION} : restaurez avec la version du SVP qui l'a faite.")
        try:
            dump = str(data["dump"])
            entry = data["files"][dump]
            created = datetime.fromisoformat(str(data["created_at"]))
            manifest = cls(
                created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
                dialect=str(data["dialect"]),
                database_revision=_optional_text(data["database_revision"]),
                code_revision=str(data["code_head_revision"]),
                counts={str(name): _count(value) for name, value in data["counts"].items()},
                dump_name=dump, dump_size=_count(entry["size"]),
                dump_sha256=str(entry["sha256"]), key_id=_optional_text(data.get("secret_key_id")))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BackupError(f"« {label} » a un manifeste invalide ({type(error).__name__}: "
                              f"{error}) : prenez une autre sauvegarde.") from None
        if manifest.dialect not in DUMP_NAMES or dump != DUMP_NAMES[manifest.dialect]:
            raise BackupError(f"« {label} » a un manifeste invalide (base « {manifest.dialect} »,"
                              f" fichier « {dump} ») : prenez une autre sauvegarde.")
        return manifest

    @property
    def total_rows(self) -> int:
        """Rows of every table together."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class Archive:
    """An archive file and its manifest."""

    path: Path
    size: int
    manifest: Manifest


@dataclass(frozen=True)
class ListedArchive:
    """An archive of the backup folder: its manifest, or why it cannot be read."""

    path: Path
    size: int
    manifest: Manifest | None
    problem: str | None


@dataclass(frozen=True)
class RestoreReport:
    """What a restore wrote."""

    manifest: Manifest
    counts: dict[str, int]
    replaced_rows: int  # rows of the application tables the target held before (--force)

    @property
    def schema_behind(self) -> bool:
        """Whether the restored schema is older than the code's (`svp db upgrade` is due)."""
        return self.manifest.database_revision != migrate.head_revision()


# --- create --------------------------------------------------------------------------------


def create(*, database_url: str, backup_dir: Path, output: Path | None = None,
           key_id: str | None = None) -> Archive:
    """Write an archive of the database (in the backup folder unless `output` is given)."""
    created_at = datetime.now(UTC).replace(microsecond=0)
    folder = output.parent if output is not None else backup_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # archives hold personal data
    dialect = _dialect(database_url)
    dump = _partial(folder, ".dump")
    try:
        if dialect == "sqlite":
            counts, revision = _dump_sqlite(database_url, dump)
        else:
            counts, revision = _dump_postgres(database_url, dump)
        if revision is None:
            raise BackupError("la base de données n'est pas initialisée : rien à sauvegarder "
                              "(lancez « svp init »).")
        size, digest = _digest(dump)
        manifest = Manifest(created_at=created_at, dialect=dialect, database_revision=revision,
                            code_revision=migrate.head_revision(), counts=counts,
                            dump_name=DUMP_NAMES[dialect], dump_size=size, dump_sha256=digest,
                            key_id=key_id)
        path = _write_archive(folder, output, manifest, dump)
    finally:
        dump.unlink(missing_ok=True)
    archive = Archive(path=path, size=path.stat().st_size, manifest=manifest)
    logger.info("backup %s written: %s bytes, %s rows", path, archive.size, manifest.total_rows)
    return archive


def _dump_sqlite(database_url: str, dump: Path) -> tuple[dict[str, int], str | None]:
    """Copy the database with SQLite's online backup (consistent, writers go on meanwhile)."""
    source = _sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"base SQLite introuvable : {source} ; vérifiez SVP_DATABASE_URL ou "
                          "SVP_DATA_DIR.")
    reader = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        copy = sqlite3.connect(dump)
        try:
            reader.backup(copy)  # every page in one step: one snapshot of the database
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        finally:
            copy.close()
    finally:
        reader.close()
    return _file_counts(dump)


def _dump_postgres(database_url: str, dump: Path) -> tuple[dict[str, int], str | None]:
    """Run pg_dump on a snapshot exported by a transaction that counts the rows of that snapshot."""
    engine = make_engine(database_url)
    try:
        repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with repeatable as connection, connection.begin():
            snapshot = str(connection.scalar(text("SELECT pg_export_snapshot()")))
            counts = _table_counts(connection)
            revision = _revision(connection, counts)
            # Level 1: the vectors hardly compress; at 10,000 entries the default level (6)
            # took 3.9 s for a 5 % smaller file, level 1 0.95 s (docs/benchmarks.md).
            _run_tool(["pg_dump", "--format=custom", "--compress=1", f"--snapshot={snapshot}",
                       "--no-password", f"--file={dump}"], database_url, "pg_dump")
    finally:
        engine.dispose()
    return counts, revision


def _write_archive(folder: Path, output: Path | None, manifest: Manifest, dump: Path) -> Path:
    """Write the tar aside, sync it, and give it its final name (never over another file)."""
    partial = _partial(folder, ".tar")
    try:
        with partial.open("wb") as file:
            with tarfile.open(fileobj=file, mode="w", format=tarfile.PAX_FORMAT) as tar:
                body = json.dumps(manifest.to_json(), indent=2, sort_keys=True).encode()
                tar.addfile(_member(MANIFEST_NAME, len(body), manifest.created_at),
                            _BytesReader(body))
                with dump.open("rb") as dumped:
                    tar.addfile(_member(manifest.dump_name, manifest.dump_size,
                                        manifest.created_at), dumped)
            file.flush()
            os.fsync(file.fileno())
        path = _link_final(partial, folder, output, manifest.created_at)
    finally:
        partial.unlink(missing_ok=True)
    _sync_folder(folder)
    return path


def _link_final(partial: Path, folder: Path, output: Path | None, created_at: datetime) -> Path:
    if output is not None:
        try:
            os.link(partial, output)
        except FileExistsError:
            raise BackupError(f"le fichier {output} existe déjà : choisissez un autre "
                              "nom.") from None
        return output
    stamp = created_at.strftime("%Y%m%d-%H%M%S")
    for number in range(100):
        path = folder / (f"svp-backup-{stamp}.tar" if number == 0
                         else f"svp-backup-{stamp}-{number}.tar")
        try:
            os.link(partial, path)  # a link never replaces an archive of the same second
        except FileExistsError:
            continue
        return path
    raise BackupError(f"trop d'archives nommées svp-backup-{stamp}-*.tar dans {folder}.")


def _member(name: str, size: int, moment: datetime) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.size = size
    member.mtime = int(moment.timestamp())
    member.mode = 0o600
    return member


class _BytesReader:
    """A minimal file object over bytes, for tarfile.addfile."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        chunk = self._data[self._offset:end]
        self._offset += len(chunk)
        return chunk


# --- read and check ------------------------------------------------------------------------


def read_archive(*, path: Path) -> Archive:
    """Read an archive's manifest and check its layout (the dump is whole); not its checksum."""
    with _open_tar(path) as (tar, members):
        return _archive_of(path, tar, members)


def verify(*, path: Path) -> Archive:
    """Check an archive completely: layout, manifest, and the SHA-256 of its dump."""
    with _open_tar(path) as (tar, members):
        archive = _archive_of(path, tar, members)
        with tempfile.TemporaryDirectory(prefix="svp-verify-") as folder:
            _extract_dump(path, tar, members, archive.manifest, Path(folder) / "dump")
    return archive


@contextlib.contextmanager
def _open_tar(path: Path) -> Iterator[tuple[tarfile.TarFile, dict[str, tarfile.TarInfo]]]:
    if not path.is_file():
        raise BackupError(f"archive introuvable : {path}.")
    try:
        tar = tarfile.open(path, mode="r:")  # noqa: SIM115 (closed below, errors told apart)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise _unreadable(path, error) from None
    try:
        try:
            members = {member.name: member for member in tar.getmembers()}
        except (tarfile.TarError, OSError, EOFError) as error:
            # The first header was read: the rest of the file is missing or damaged.
            raise BackupError(f"« {path.name} » est tronquée ou endommagée ({error}) : prenez "
                              "une autre sauvegarde.") from None
        yield tar, members
    finally:
        tar.close()


def _unreadable(path: Path, error: BaseException) -> BackupError:
    return BackupError(f"« {path.name} » n'est pas une archive de sauvegarde lisible "
                       f"({error or type(error).__name__}) : vérifiez le fichier, ou prenez une "
                       "autre sauvegarde.")


def _archive_of(path: Path, tar: tarfile.TarFile,
                members: dict[str, tarfile.TarInfo]) -> Archive:
    member = members.get(MANIFEST_NAME)
    if member is None or not member.isfile():
        raise BackupError(f"« {path.name} » n'est pas une sauvegarde du SVP (pas de "
                          f"{MANIFEST_NAME}) : choisissez une archive faite par "
                          "« svp backup create ».")
    try:
        reader = tar.extractfile(member)
        assert reader is not None
        data = json.loads(reader.read(1 << 24).decode("utf-8"))
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError, ValueError) as error:
        raise BackupError(f"« {path.name} » a un manifeste illisible ({error}) : prenez une "
                          "autre sauvegarde.") from None
    manifest = Manifest.from_json(data, label=path.name)
    dump = members.get(manifest.dump_name)
    size = path.stat().st_size
    if dump is None or not dump.isfile():
        raise BackupError(f"« {path.name} » est incomplète (pas de {manifest.dump_name}) : "
                          "prenez une autre sauvegarde.")
    if dump.size != manifest.dump_size or dump.offset_data + dump.size > size:
        raise BackupError(f"« {path.name} » est tronquée ({size} octets, la base sauvegardée "
                          "n'y est pas entière) : prenez une autre sauvegarde.")
    return Archive(path=path, size=size, manifest=manifest)


def _extract_dump(path: Path, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                  manifest: Manifest, target: Path) -> None:
    """Copy the dump out of the archive (mode 0600), checking its size and SHA-256."""
    digest = hashlib.sha256()
    written = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            reader = tar.extractfile(members[manifest.dump_name])
            assert reader is not None
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                written += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (tarfile.TarError, OSError, EOFError) as error:
        target.unlink(missing_ok=True)
        raise BackupError(f"« {path.name} » est tronquée ou illisible ({error}) : prenez une "
                          "autre sauvegarde ; la base cible n'a pas été modifiée.") from None
    if written != manifest.dump_size or digest.hexdigest() != manifest.dump_sha256:
        target.unlink(missing_ok=True)
        raise BackupError(f"« {path.name} » est endommagée (l'empreinte SHA-256 de la base "
                          "sauvegardée ne correspond pas au manifeste) : prenez une autre "
                          "sauvegarde ; la base cible n'a pas été modifiée.")


# --- restore -------------------------------------------------------------------------------


def restore(*, path: Path, database_url: str, force: bool = False) -> RestoreReport:
    """Restore an archive into the database; refuse a non-empty one unless `force`.

    Everything is checked before the target changes (archive, checksum, dialect, schema
    revision, emptiness); the target then changes in one step or not at all.
    """
    dialect = _dialect(database_url)
    with _open_tar(path) as (tar, members):
        manifest = _archive_of(path, tar, members).manifest
        _check_compatible(path, manifest, dialect)
        replaced = _application_rows(database_url)
        if replaced and not force:
            raise BackupError(f"la base cible n'est pas vide ({replaced} ligne(s) de données) : "
                              "restaurez dans une base vide, ou ajoutez --force pour la "
                              "remplacer entièrement.")
        if replaced:
            _refuse_live_processes(database_url)
        if dialect == "sqlite":
            counts = _restore_sqlite(path, tar, members, manifest, database_url)
        else:
            counts = _restore_postgres(path, tar, members, manifest, database_url)
    logger.info("backup %s restored (%s rows, %s replaced)", path, sum(counts.values()), replaced)
    return RestoreReport(manifest=manifest, counts=counts, replaced_rows=replaced)


def _check_compatible(path: Path, manifest: Manifest, dialect: str) -> None:
    if manifest.dialect != dialect:
        raise BackupError(
            f"« {path.name} » est une sauvegarde {DIALECT_FR[manifest.dialect]} et la base cible "
            f"est {DIALECT_FR[dialect]} : une sauvegarde SQLite se restaure dans SQLite, une "
            "sauvegarde PostgreSQL dans PostgreSQL (voir SVP_DATABASE_URL).")
    revision = manifest.database_revision
    if revision is None or not _known_revision(revision):
        raise BackupError(
            f"« {path.name} » est à la version de schéma {revision}, inconnue de ce code (plus "
            f"récent que lui, à la version {migrate.head_revision()}) : installez la version du "
            "SVP qui a fait la sauvegarde, puis restaurez.")


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory(str(migrate.MIGRATIONS_DIR)).get_revision(revision) is not None
    except CommandError:
        return False


def _restore_sqlite(path: Path, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                    manifest: Manifest, database_url: str) -> dict[str, int]:
    """Check the database file aside, then rename it over the target (service stopped)."""
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    staged.unlink(missing_ok=True)
    try:
        _extract_dump(path, tar, members, manifest, staged)
        problem = _sqlite_problem(staged)
        if problem:
            raise BackupError(f"« {path.name} » contient une base SQLite endommagée ({problem})"
                              " : prenez une autre sauvegarde ; la base cible n'a pas été "
                              "modifiée.")
        counts, _revision_found = _file_counts(staged)
        _check_counts(path, manifest, counts)
        if target.exists():
            _fold_wal(target)
        for suffix in ("-wal", "-shm"):
            # A journal left by the old file would be replayed onto the new one.
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    _sync_folder(target.parent)
    counts, _revision_found = _file_counts(target)
    return counts


def _sqlite_problem(path: Path) -> str | None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if result and result[0] == "ok" else str(result[0] if result else "?")


def _fold_wal(target: Path) -> None:
    """Fold the old database's WAL into its file, so removing the WAL loses nothing of it."""
    connection = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError as error:  # an unreadable old file: it is being replaced
        logger.warning("could not checkpoint %s before replacing it: %s", target, error)
    finally:
        connection.close()


def _restore_postgres(path: Path, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                      manifest: Manifest, database_url: str) -> dict[str, int]:
    """Empty the schema, load the dump and check the counts, all in one transaction."""
    with tempfile.TemporaryDirectory(prefix="svp-restore-") as name:
        folder = Path(name)
        dump, script = folder / "dump", folder / "restore.sql"
        _extract_dump(path, tar, members, manifest, dump)
        _run_tool(["pg_restore", "--no-owner", "--no-privileges", f"--file={script}", str(dump)],
                  None, "pg_restore")
        prelude, check = folder / "prelude.sql", folder / "check.sql"
        prelude.write_text("SET lock_timeout = '20s';\n"
                           "DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n",
                           encoding="utf-8")
        check.write_text(_count_check_sql(manifest.counts), encoding="utf-8")
        _run_tool(["psql", "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1",
                   "--single-transaction", f"--file={prelude}", f"--file={script}",
                   f"--file={check}"], database_url, "psql")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            counts = _table_counts(connection)
    finally:
        engine.dispose()
    _check_counts(path, manifest, counts)
    return counts


def _count_check_sql(counts: dict[str, int]) -> str:
    """A block aborting the restore's transaction when a table's rows differ from the manifest."""
    checks = "".join(
        f"  IF (SELECT count(*) FROM public.{_quoted(name)}) <> {number} THEN\n"
        f"    RAISE EXCEPTION 'table %: row count differs from the manifest', "
        f"{_literal(name)};\n  END IF;\n"
        for name, number in sorted(counts.items()))
    # ANALYZE last: a restore brings no planner statistics, and the first reads (the index
    # rebuild) would run blind, 25 times slower at 10,000 entries.
    return f"SET search_path = public;\nDO $svp$\nBEGIN\n{checks}END\n$svp$;\nANALYZE;\n"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _check_counts(path: Path, manifest: Manifest, counts: dict[str, int]) -> None:
    if counts != manifest.counts:
        differing = sorted(name for name in set(counts) | set(manifest.counts)
                           if counts.get(name) != manifest.counts.get(name))
        raise BackupError(f"« {path.name} » : les lignes restaurées ne correspondent pas au "
                          f"manifeste (tables {', '.join(differing[:5])}) : prenez une autre "
                          "sauvegarde.")


# --- the folder of archives ----------------------------------------------------------------


def archives(*, backup_dir: Path) -> list[Path]:
    """The archives of the backup folder (named by `create`), newest first."""
    if not backup_dir.is_dir():
        return []
    named = [(match.group(1), int(match.group(2) or 0), path) for path in backup_dir.iterdir()
             if (match := ARCHIVE_NAME.match(path.name)) and path.is_file()]
    return [path for _stamp, _number, path in sorted(named, reverse=True)]


def list_archives(*, backup_dir: Path) -> list[ListedArchive]:
    """Every archive of the backup folder, newest first, with its manifest or its problem."""
    listed = []
    for path in archives(backup_dir=backup_dir):
        try:
            archive = read_archive(path=path)
        except BackupError as error:
            listed.append(ListedArchive(path=path, size=path.stat().st_size, manifest=None,
                                        problem=str(error)))
        else:
            listed.append(ListedArchive(path=path, size=archive.size, manifest=archive.manifest,
                                        problem=None))
    return listed


def prune(*, backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest archives (0 keeps all), and stale partial files."""
    removed = []
    if keep > 0:
        for path in archives(backup_dir=backup_dir)[keep:]:
            path.unlink(missing_ok=True)
            removed.append(path)
    if backup_dir.is_dir():
        now = datetime.now(UTC).timestamp()
        for path in backup_dir.glob(f"{PARTIAL_PREFIX}*.partial"):
            # What a crashed `create` left; a running one's files are recent.
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > PARTIAL_MAX_AGE_SECONDS:
                    path.unlink()
                    removed.append(path)
    if removed:
        _sync_folder(backup_dir)
        logger.info("%s old backup file(s) removed from %s", len(removed), backup_dir)
    return removed


def last_success_timestamp(*, backup_dir: Path) -> float:
    """Creation time (Unix seconds) of the newest readable archive of the folder; 0 if none."""
    for path in archives(backup_dir=backup_dir):
        try:
            return read_archive(path=path).manifest.created_at.timestamp()
        except (BackupError, OSError) as error:
            logger.debug("archive %s skipped: %s", path, error)
    return 0.0


# --- databases -----------------------------------------------------------------------------


def table_counts(*, engine: Engine) -> dict[str, int]:
    """Rows of every table of the database (Alembic's included)."""
    with engine.connect() as connection:
        return _table_counts(connection)


def _table_counts(connection: Connection) -> dict[str, int]:
    return {name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in sorted(inspect(connection).get_table_names())}


def _revision(connection: Connection, counts: dict[str, int]) -> str | None:
    if not counts.get("alembic_version"):
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


def _file_counts(path: Path) -> tuple[dict[str, int], str | None]:
    """Rows per table and schema revision of an SQLite file."""
    engine = create_engine(sqlite_url_for(path), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            counts = _table_counts(connection)
            return counts, _revision(connection, counts)
    finally:
        engine.dispose()


def _application_rows(database_url: str) -> int:
    """Rows the target holds outside the reference tables `svp init` fills (0: empty)."""
    if _dialect(database_url) == "sqlite":
        path = _sqlite_path(database_url)
        if not path.exists() or path.stat().st_size == 0:
            return 0
        counts, _revision_found = _file_counts(path)
    else:
        engine = make_engine(database_url)
        try:
            counts = table_counts(engine=engine)
        finally:
            engine.dispose()
    return sum(number for name, number in counts.items() if name not in REFERENCE_TABLES)


def _refuse_live_processes(database_url: str) -> None:
    """Refuse to replace a database a running service still writes (a recent heartbeat)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            if "process_heartbeats" not in inspect(connection).get_table_names():
                return
            rows = connection.execute(text(
                "SELECT name, last_seen_at FROM process_heartbeats")).all()
    finally:
        engine.dispose()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC
    for name, seen in rows:
        moment = datetime.fromisoformat(seen) if isinstance(seen, str) else seen
        if moment is not None and abs((now - moment.replace(tzinfo=None)).total_seconds()) \
                < LIVE_PROCESS_SECONDS:
            raise BackupError(f"le service semble en marche (« {name} » a donné signe de vie "
                              "il y a moins de 90 s) : arrêtez-le (bot et web) avant de "
                              "restaurer.")


def _dialect(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in DUMP_NAMES:
        raise BackupError(f"base « {backend} » non prise en charge par les sauvegardes "
                          "(SQLite ou PostgreSQL).")
    return backend


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("une base SQLite en mémoire ne se sauvegarde pas : configurez un "
                          "fichier (SVP_DATABASE_URL).")
    return Path(database)


def _run_tool(command: list[str], database_url: str | None, tool: str) -> None:
    """Run a PostgreSQL client tool; the password goes through PGPASSWORD, never the command."""
    if shutil.which(command[0]) is None:
        raise BackupError(f"{tool} introuvable : installez le paquet postgresql-client (de la "
                          "même version majeure que le serveur).")
    env = dict(os.environ)
    if database_url is not None:
        uri, password = libpq_target(database_url)
        command = [*command, f"--dbname={uri}"]
        env.pop("PGPASSWORD", None)
        if password:
            env["PGPASSWORD"] = password
        env.setdefault("PGCONNECT_TIMEOUT", "10")
    result = subprocess.run(command, env=env, capture_output=True, text=True,
                            timeout=PG_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[0] if lines else f"code {result.returncode}"
        logger.warning("%s failed: %s", tool, result.stderr.strip())
        raise BackupError(f"{tool} a échoué ({reason}) ; la base cible n'a pas été modifiée.")


def libpq_target(database_url: str) -> tuple[str, str | None]:
    """The libpq URI of a SQLAlchemy URL (no password in it) and the password apart."""
    url: URL = make_url(database_url)
    password = url.password
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database, query=url.query)  # `set` keeps a password
    return plain.render_as_string(hide_password=False), None if password is None else str(password)


# --- files ---------------------------------------------------------------------------------


def _partial(folder: Path, suffix: str) -> Path:
    descriptor, name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=f"{suffix}.partial",
                                        dir=folder)  # mode 0600: the dump holds personal data
    os.close(descriptor)
    return Path(name)


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _sync_folder(folder: Path) -> None:
    # A rename (or link) is durable only once its folder is synced.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"nombre invalide : {value!r}")
    return value


__all__ = ["Archive", "BackupError", "ListedArchive", "Manifest", "RestoreReport",
           "archives", "create", "last_success_timestamp", "libpq_target", "list_archives",
           "prune", "read_archive", "restore", "table_counts", "verify"]
