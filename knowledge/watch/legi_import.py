"""Import DILA LEGI archives: legi.py reads them, we keep the versions of what entries cite.

Legilibre's `legi` package reads an archive (the full dump or a daily increment) into its own
SQLite database; each archive is read into a fresh one in a scratch folder, and only the
articles and texts that entries cite are copied into ours, in one transaction with the
import's record and the flags it raises. So the whole of French law never sits in the
service's database, a corrupt archive leaves nothing behind, and the same archive imported
twice is recognised by its checksum.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import InvalidInput
from knowledge.store.watch_models import LegalArticleVersion, LegalImport, LegalTextVersion
from knowledge.text import fold
from knowledge.watch import flags
from knowledge.watch.cited import CitedTexts, citations, cited_texts
from knowledge.watch.legal_text import html_to_text, parse_day
from knowledge.watch.references import TextNames

logger = logging.getLogger(__name__)

_STAMP = re.compile(r"(\d{8}-\d{6})")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ImportReport:
    """What one archive brought."""

    import_id: int
    archive_name: str
    already_imported: bool
    kind: str
    files_read: int = 0
    articles_kept: int = 0
    texts_kept: int = 0
    new_versions: int = 0
    removed: int = 0
    flags_raised: int = 0
    seconds: float = 0.0


def import_archive(*, session: Session, path: Path, names: TextNames, actor: str,
                   today: date, scratch_dir: Path | None = None) -> ImportReport:
    """Import one LEGI archive: the versions of the cited articles and texts, then the flags.

    Raises InvalidInput (nothing written) when the file is not a readable LEGI archive.
    """
    if not path.is_file():
        raise InvalidInput(f"Archive introuvable : {path}")
    digest = _sha256(path)
    known = session.scalar(select(LegalImport).where(LegalImport.archive_sha256 == digest))
    if known is not None:
        logger.info("LEGI archive %s already imported as %s", path.name, known.id)
        return ImportReport(import_id=known.id, archive_name=known.archive_name,
                            already_imported=True, kind=known.kind)
    started = time.perf_counter()
    found = citations(session=session, names=names)
    cited = cited_texts(found)
    _learn_text_cids(session=session, cited=cited)
    with tempfile.TemporaryDirectory(prefix="svp-legi-", dir=scratch_dir) as scratch:
        staging_path = Path(scratch) / "legi.sqlite"
        suppressed = _read_with_legi(path, staging_path)
        with contextlib.closing(sqlite3.connect(staging_path)) as staging:
            staging.row_factory = sqlite3.Row
            files_read = _count_files(staging) + len(suppressed)
            if files_read == 0:
                raise InvalidInput(f"Aucun fichier LEGI dans l'archive {path.name}.")
            record = LegalImport(archive_name=path.name, archive_sha256=digest,
                                 kind="global" if is_dump(path.name) else "increment",
                                 stamp=_stamp(path.name), imported_by=actor,
                                 files_read=files_read)
            session.add(record)
            session.flush()
            texts_kept, text_versions = _keep_texts(session=session, staging=staging,
                                                    cited=cited, import_id=record.id)
            _learn_law_cids(staging=staging, cited=cited)
            articles_kept, article_versions = _keep_articles(
                session=session, staging=staging, cited=cited, import_id=record.id)
    removed = _remove(session=session, ids=suppressed)
    session.flush()
    raised = flags.refresh(session=session, names=names, today=today, import_id=record.id,
                           found=found)
    record.texts_kept = texts_kept
    record.articles_kept = articles_kept
    record.new_versions = text_versions + article_versions
    record.removed = removed
    record.flags_raised = raised
    record.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    audit.record(session=session, actor=actor, action="watch.import",
                 object_type="legal_import", object_id=record.id,
                 details={"archive": path.name, "new_versions": record.new_versions,
                          "flags_raised": raised})
    logger.info("LEGI archive %s imported: %s files, %s articles and %s texts kept, "
                "%s new versions, %s removed, %s flags", path.name, files_read, articles_kept,
                texts_kept, record.new_versions, removed, raised)
    return ImportReport(import_id=record.id, archive_name=path.name, already_imported=False,
                        kind=record.kind, files_read=files_read, articles_kept=articles_kept,
                        texts_kept=texts_kept, new_versions=record.new_versions,
                        removed=removed, flags_raised=raised, seconds=record.seconds)


def is_dump(name: str) -> bool:
    """Tell a full dump (`Freemium_legi_global_…`) from a daily increment (`LEGI_…`)."""
    return "global" in name.lower()


def archive_order(name: str) -> tuple[str, int]:
    """Sort key of archives: by their date stamp, a full dump before the increments of its day."""
    return (_stamp(name) or "", 0 if is_dump(name) else 1)


def archives_to_import(*, session: Session, directory: Path) -> list[Path]:
    """The archives of a download folder still to import, oldest first.

    From the newest full dump on (DILA's increments before it are already in it), leaving
    out those imported under the same name: a daily run reads and hashes only what is new.
    """
    if not directory.is_dir():
        raise InvalidInput(f"Dossier introuvable : {directory}")
    found = sorted((path for path in directory.iterdir()
                    if path.is_file() and path.name.endswith(".tar.gz") and _stamp(path.name)),
                   key=lambda path: archive_order(path.name))
    dumps = [path for path in found if is_dump(path.name)]
    if dumps:
        newest = archive_order(dumps[-1].name)
        found = [path for path in found if archive_order(path.name) >= newest]
    known = set(session.scalars(select(LegalImport.archive_name)))
    return [path for path in found if path.name not in known]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(name: str) -> str | None:
    match = _STAMP.search(name)
    return match.group(1) if match else None


def _read_with_legi(path: Path, staging_path: Path) -> list[str]:
    """Let legi.py read the archive into a scratch database; return the suppressed ids."""
    # legi prints its progress and counts: they go to the log, not the operator's terminal.
    os.environ.setdefault("TQDM_DISABLE", "1")
    chatter = io.StringIO()
    # legi imports the deprecated sre_parse and warns that hunspell (its spelling checker,
    # unused here) is missing: neither concerns the import.
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from legi import tar2sqlite
        from legi.db import connect_db
    suppressed: list[str] = []
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter), \
                _recording_suppressions(tar2sqlite, suppressed):
            db = connect_db(str(staging_path))
            try:
                # A throwaway database, filled in one transaction as legi's own command does:
                # a commit per file made a CCH-size dump take 15 s instead of 2 s.
                db.pragma("journal_mode=off")
                db.pragma("synchronous=off")
                with db:
                    tar2sqlite.process_archive(db, str(path), raw=True, process_links=False,
                                               check_html=False)
            finally:
                db.close()
    except Exception as error:  # libarchive's, lxml's, legi's asserts: whatever their class
        raise InvalidInput(
            f"Archive LEGI illisible ({path.name}) : {_reason(error)}") from error
    logger.debug("legi.py on %s: %s", path.name, chatter.getvalue()[-2000:])
    return suppressed


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]


@contextlib.contextmanager
def _recording_suppressions(module: Any, into: list[str]) -> Iterator[None]:
    """Catch the suppression lists legi applies to its own database, to apply them to ours."""
    original: Callable[..., Any] = module.suppress

    def recording(db: Any, liste: list[str], name: str) -> Any:
        into.extend(item.strip().rsplit("/", 1)[-1] for item in liste if item.strip())
        return original(db, liste, name)

    module.suppress = recording
    try:
        yield
    finally:
        module.suppress = original


def _count_files(staging: sqlite3.Connection) -> int:
    total = 0
    for table in ("articles", "sections", "textes_structs", "textes_versions"):
        total += staging.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return int(total)


def _learn_text_cids(*, session: Session, cited: CitedTexts) -> None:
    """Texts cited by number: their cid from the versions kept earlier."""
    for _nature, number in list(cited.text_numbers):
        for cid in session.scalars(select(LegalTextVersion.cid).where(
                LegalTextVersion.num == number)).all():
            cited.text_cids.add(cid)
    for _nature, number, article in list(cited.articles_by_number):
        for cid in session.scalars(select(LegalTextVersion.cid).where(
                LegalTextVersion.num == number)).all():
            cited.articles.add((cid, article))


def _learn_law_cids(*, staging: sqlite3.Connection, cited: CitedTexts) -> None:
    """Articles of texts cited by number: their cid from the text versions of this archive."""
    if not cited.articles_by_number:
        return
    wanted = {(nature, number) for nature, number, _ in cited.articles_by_number}
    for row in staging.execute("SELECT cid, nature, num FROM textes_versions"):
        key = (fold(row["nature"] or ""), row["num"])
        if key in wanted:
            for nature, number, article in cited.articles_by_number:
                if (nature, number) == key:
                    cited.articles.add((row["cid"], article))


def _keep_texts(*, session: Session, staging: sqlite3.Connection, cited: CitedTexts,
                import_id: int) -> tuple[int, int]:
    kept = created = 0
    for row in staging.execute(
            "SELECT id, cid, nature, num, date_texte, titrefull, titre, etat, date_debut, "
            "date_fin FROM textes_versions"):
        if not cited.wants_text(row["cid"], row["nature"], row["num"]):
            continue
        kept += 1
        values = {"cid": row["cid"], "nature": row["nature"], "num": row["num"],
                  "date_texte": parse_day(row["date_texte"]),
                  "title": row["titrefull"] or row["titre"] or "", "etat": row["etat"],
                  "date_debut": parse_day(row["date_debut"]),
                  "date_fin": parse_day(row["date_fin"])}
        created += _upsert(session=session, model=LegalTextVersion, identifier=row["id"],
                           stored=session.get(LegalTextVersion, row["id"]), values=values,
                           import_id=import_id)
        cited.text_cids.add(row["cid"])
    return kept, created


def _keep_articles(*, session: Session, staging: sqlite3.Connection, cited: CitedTexts,
                   import_id: int) -> tuple[int, int]:
    cids = sorted({cid for cid, _ in cited.articles} | {
        reference.cid for reference in cited.ranges if reference.cid})
    if not cids:
        return 0, 0
    kept = created = 0
    stored_by_id = {version.id: version for version in session.scalars(
        select(LegalArticleVersion).where(LegalArticleVersion.text_cid.in_(cids)))}
    marks = ",".join("?" for _ in cids)
    rows = staging.execute(
        "SELECT id, cid, num, etat, date_debut, date_fin, bloc_textuel FROM articles "
        f"WHERE cid IN ({marks})", cids)
    for row in rows:
        num = (row["num"] or "").strip()
        if not num or not cited.wants_article(row["cid"], num):
            continue
        kept += 1
        content = html_to_text(row["bloc_textuel"] or "")
        values = {"text_cid": row["cid"], "num": num, "etat": row["etat"],
                  "date_debut": parse_day(row["date_debut"]),
                  "date_fin": parse_day(row["date_fin"]), "content": content,
                  "content_hash": hashlib.sha256(content.encode()).hexdigest()}
        stored = stored_by_id.get(row["id"]) or session.get(LegalArticleVersion, row["id"])
        created += _upsert(session=session, model=LegalArticleVersion, identifier=row["id"],
                           stored=stored, values=values, import_id=import_id)
    return kept, created


def _upsert(*, session: Session, model: type[LegalArticleVersion] | type[LegalTextVersion],
            identifier: str, stored: LegalArticleVersion | LegalTextVersion | None,
            values: dict[str, Any], import_id: int) -> int:
    """Add a version, or update it when the archive changed it; 1 when it is new."""
    if stored is None:
        session.add(model(id=identifier, import_id=import_id, **values))
        return 1
    if any(getattr(stored, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(stored, name, value)
        stored.import_id = import_id
    return 0


def _remove(*, session: Session, ids: list[str]) -> int:
    removed = 0
    for identifier in ids:
        for model in (LegalArticleVersion, LegalTextVersion):
            stored = session.get(model, identifier)
            if stored is not None:
                session.delete(stored)
                removed += 1
    return removed
