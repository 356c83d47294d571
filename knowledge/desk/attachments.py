"""Files of the desk: checked by content, stored with a checksum, attached to messages.

Every channel (Telegram, email, the advisers' forms) hands its files to `accept`, which tells
their type from their bytes (magic numbers, and inside Office archives without extracting
them), never from the name or the declared type, and applies the size limits; `store` keeps an
accepted file with its ticket message. Asker uploads are personal data: they live and die with
their ticket (retention, export, erasure); only an adviser's file can become an entry document.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, undefer

from knowledge.errors import InvalidInput, NotFound
from knowledge.store.mail_models import Attachment
from knowledge.store.models import Outbox

logger = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_FILENAME = 255
# Office archives are small once unpacked; a bigger promise is a zip bomb, not a letter.
MAX_UNPACKED_BYTES = 200 * MB
MAX_UNPACK_RATIO = 100
MAX_ARCHIVE_MEMBERS = 5_000
_SMALL_MEMBER = 1 * MB  # [Content_Types].xml and mimetype are read, never more than this

IN = "in"
OUT = "out"
SOURCES = ("telegram", "email", "adviser")


@dataclass(frozen=True)
class AttachmentLimits:
    """Size limits of the files of one message (settings SVP_ATTACHMENT_*_MB)."""

    per_file_bytes: int = 10 * MB
    per_message_bytes: int = 25 * MB
    per_message_files: int = 10


@dataclass(frozen=True)
class Upload:
    """A file as a channel received it: its name and type as declared, and its bytes."""

    filename: str
    declared_type: str | None
    data: bytes


@dataclass(frozen=True)
class FileType:
    """A type the desk accepts: its MIME type, usual extensions and French label."""

    content_type: str
    extensions: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Accepted:
    """A file that passed the checks: cleaned name, type sniffed from its bytes."""

    filename: str
    content_type: str
    label: str
    data: bytes

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(frozen=True)
class Refused:
    """A file that did not pass, and why (in French, for the person who sent it)."""

    filename: str
    reason: str

    @property
    def message(self) -> str:
        """« nom » : raison."""
        return f"« {self.filename} » : {self.reason}"


PDF = FileType("application/pdf", (".pdf",), "PDF")
PNG = FileType("image/png", (".png",), "image PNG")
JPEG = FileType("image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), "image JPEG")
GIF = FileType("image/gif", (".gif",), "image GIF")
WEBP = FileType("image/webp", (".webp",), "image WebP")
HEIC = FileType("image/heic", (".heic", ".heif"), "image HEIC")
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                (".docx",), "document Word")
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                (".xlsx",), "classeur Excel")
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                (".pptx",), "présentation PowerPoint")
ODT = FileType("application/vnd.oasis.opendocument.text", (".odt",), "texte OpenDocument")
ODS = FileType("application/vnd.oasis.opendocument.spreadsheet", (".ods",),
               "classeur OpenDocument")
ODP = FileType("application/vnd.oasis.opendocument.presentation", (".odp",),
               "présentation OpenDocument")
DOC = FileType("application/msword", (".doc",), "document Word (ancien format)")
XLS = FileType("application/vnd.ms-excel", (".xls",), "classeur Excel (ancien format)")
PPT = FileType("application/vnd.ms-powerpoint", (".ppt",),
               "présentation PowerPoint (ancien format)")
TXT = FileType("text/plain", (".txt",), "texte")
CSV = FileType("text/csv", (".csv",), "tableau CSV")
ACCEPTED_TYPES = (PDF, PNG, JPEG, GIF, WEBP, HEIC, DOCX, XLSX, PPTX, ODT, ODS, ODP, DOC, XLS,
                  PPT, TXT, CSV)
ACCEPTED_EXTENSIONS = frozenset(ext for kind in ACCEPTED_TYPES for ext in kind.extensions)
# What the forms' file pickers propose (the server checks the content regardless).
ACCEPT_ATTRIBUTE = ",".join(sorted(ACCEPTED_EXTENSIONS))

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
_ODF = {ODT.content_type: ODT, ODS.content_type: ODS, ODP.content_type: ODP}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The stream each legacy Office format keeps in its compound file (names in UTF-16).
_OLE2_STREAMS = ((DOC, "WordDocument"), (XLS, "Workbook"), (XLS, "Book"),
                 (PPT, "PowerPoint Document"))
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")


class _Suspicious(Exception):
    """An archive that must not be opened further (a zip bomb, or broken on purpose)."""


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _zip_type(data: bytes) -> FileType | None:
    """The Office or OpenDocument type of a zip, by its members; never extracts the contents."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            raise _Suspicious("too many members")
        unpacked = sum(member.file_size for member in members)
        if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_UNPACK_RATIO * max(len(data), 1):
            raise _Suspicious(f"{unpacked} bytes unpacked from {len(data)}")
        names = {member.filename: member for member in members}
        if "mimetype" in names:
            found = _ODF.get(_small_member(archive, names["mimetype"]).decode(
                "ascii", "replace").strip())
            if found is not None:
                return found
        if "[Content_Types].xml" in names:
            listing = _small_member(archive, names["[Content_Types].xml"]).decode(
                "utf-8", "replace")
            for main, kind in _OOXML_MAIN.items():
                if f'ContentType="{main}"' in listing:
                    return kind
    return None  # a plain zip, or macro-enabled Office (docm, xlsm...): not accepted


def _small_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    if member.file_size > _SMALL_MEMBER:
        raise _Suspicious(f"{member.filename} is {member.file_size} bytes")
    try:
        with archive.open(member) as stream:
            # Read one byte past the limit: a header that lies about the size shows here.
            content = stream.read(_SMALL_MEMBER + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError,
            EOFError) as error:
        raise _Suspicious(str(error)) from error
    if len(content) > _SMALL_MEMBER:
        raise _Suspicious(f"{member.filename} unpacks past its declared size")
    return content


def _text_type(data: bytes, extension: str) -> FileType | None:
    """Plain text or CSV, only under a .txt/.csv name: any other text (HTML, SVG) is refused."""
    if extension not in (".txt", ".csv") or b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc"
                   and char not in "\r\n\t\f")
    if controls > len(text) // 100:
        return None
    return CSV if extension == ".csv" else TXT


def sniff(data: bytes, filename: str = "") -> FileType | None:
    """The accepted type of a file's bytes, or None (the name only tells text from text)."""
    head = data[:64]
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    if head.startswith(_OLE2):
        # An installer (.msi) or an Outlook message is a compound file too: only those
        # holding a Word, Excel or PowerPoint stream are documents.
        for kind, stream in _OLE2_STREAMS:
            if stream.encode("utf-16-le") in data:
                return kind
        return None
    return _text_type(data, _extension(filename))


def clean_filename(name: str, fallback: str = "fichier") -> str:
    """A file name safe to show and to offer for download: no path, no control characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(char for char in base if unicodedata.category(char)[0] != "C")
    base = base.strip().lstrip(".").strip()
    if not base:
        base = fallback
    if len(base) > MAX_FILENAME:
        extension = _extension(base)[:16]
        base = base[:MAX_FILENAME - len(extension)] + extension
    return base


def _with_extension(name: str, kind: FileType) -> str:
    # The name keeps what the sender called it, but opens as what it is.
    if _extension(name) in kind.extensions:
        return name
    return clean_filename(name[:MAX_FILENAME - len(kind.extensions[0])] + kind.extensions[0])


def megabytes(size: int) -> str:
    """A size in French megabytes: « 12,4 Mo », « 10 Mo »."""
    text = f"{size / MB:.1f}".removesuffix(".0")
    return text.replace(".", ",") + " Mo"


def too_heavy(filename: str, size: int, limits: AttachmentLimits) -> Refused | None:
    """The refusal of a file over the per-file limit (told before downloading it), or None."""
    if size <= limits.per_file_bytes:
        return None
    return Refused(clean_filename(filename), f"fichier trop lourd ({megabytes(size)}, maximum "
                                             f"{megabytes(limits.per_file_bytes)})")


def accept(*, uploads: Sequence[Upload], limits: AttachmentLimits
           ) -> tuple[list[Accepted], list[Refused]]:
    """Check a message's files: accepted ones (sniffed, named) and refused ones with a reason."""
    accepted: list[Accepted] = []
    refused: list[Refused] = []
    total = 0
    for upload in uploads:
        name = clean_filename(upload.filename)
        size = len(upload.data)
        if size == 0:
            refused.append(Refused(name, "fichier vide"))
            continue
        heavy = too_heavy(name, size, limits)
        if heavy is not None:
            refused.append(heavy)
            continue
        if len(accepted) >= limits.per_message_files:
            refused.append(Refused(name, f"au plus {limits.per_message_files} fichiers par "
                                         "message"))
            continue
        if total + size > limits.per_message_bytes:
            refused.append(Refused(name, "les fichiers de ce message dépassent "
                                         f"{megabytes(limits.per_message_bytes)} au total"))
            continue
        try:
            kind = sniff(upload.data, name)
        except _Suspicious as error:
            logger.warning("archive %r refused as suspicious: %s", name, error)
            refused.append(Refused(name, "archive suspecte (taille décompressée anormale) : "
                                         "fichier refusé"))
            continue
        if kind is None:
            extension = _extension(name)
            if extension in ACCEPTED_EXTENSIONS:
                reason = (f"le contenu ne correspond pas à un fichier {extension} accepté "
                          "(fichier endommagé, protégé ou d'un autre type)")
            else:
                reason = f"type de fichier non accepté ({extension or 'sans extension'})"
            refused.append(Refused(name, reason))
            continue
        total += size
        accepted.append(Accepted(filename=_with_extension(name, kind),
                                 content_type=kind.content_type, label=kind.label,
                                 data=upload.data))
    return accepted, refused


NOTHING_SENT = "\nRien n'a été envoyé : joignez à nouveau des fichiers acceptés."


def refusal_text(refused: Sequence[Refused]) -> str:
    """One French paragraph naming each refused file and why."""
    if not refused:
        return ""
    lines = [f"- {item.message}" for item in refused]
    head = ("Ce fichier n'a pas été retenu :" if len(refused) == 1
            else "Ces fichiers n'ont pas été retenus :")
    return "\n".join([head, *lines])


def check(*, uploads: Sequence[Upload], limits: AttachmentLimits) -> list[Accepted]:
    """Accept every file or raise InvalidInput naming the refused ones (the advisers' forms)."""
    accepted, refused = accept(uploads=uploads, limits=limits)
    if refused:
        raise InvalidInput(refusal_text(refused) + NOTHING_SENT)
    return accepted


# --- storage ------------------------------------------------------------------------------------

def store(*, session: Session, ticket_id: int | None, ticket_message_id: int | None,
          upload: Accepted, source: str, created_by: str, direction: str = IN,
          telegram_file_unique_id: str | None = None, entry_id: int | None = None
          ) -> Attachment:
    """Keep an accepted file with its ticket message (once per Telegram file and message)."""
    if source not in SOURCES or direction not in (IN, OUT):
        raise ValueError(f"unknown source {source!r} or direction {direction!r}")
    if telegram_file_unique_id is not None and ticket_message_id is not None:
        # A replayed update: the same Telegram file on the same message is stored once.
        existing = session.scalar(select(Attachment).where(
            Attachment.ticket_message_id == ticket_message_id,
            Attachment.telegram_file_unique_id == telegram_file_unique_id))
        if existing is not None:
            return existing
    attachment = Attachment(
        ticket_id=ticket_id, ticket_message_id=ticket_message_id, entry_id=entry_id,
        direction=direction, source=source, filename=upload.filename,
        content_type=upload.content_type, size=upload.size,
        sha256=hashlib.sha256(upload.data).hexdigest(), data=upload.data,
        telegram_file_unique_id=telegram_file_unique_id, created_by=created_by)
    session.add(attachment)
    session.flush()
    logger.info("attachment %s (%s, %s bytes) stored for ticket %s by %s", attachment.id,
                upload.content_type, upload.size, ticket_id, source)
    return attachment


def store_all(*, session: Session, ticket_id: int, ticket_message_id: int,
              uploads: Sequence[Accepted], source: str, created_by: str,
              direction: str = IN) -> list[Attachment]:
    """Store several accepted files with one ticket message."""
    return [store(session=session, ticket_id=ticket_id, ticket_message_id=ticket_message_id,
                  upload=upload, source=source, created_by=created_by, direction=direction)
            for upload in uploads]


def get(*, session: Session, attachment_id: int, ticket_id: int | None = None,
        entry_id: int | None = None, with_data: bool = False) -> Attachment:
    """Return a file (of this ticket or entry, when given) or raise NotFound."""
    query = select(Attachment).where(Attachment.id == attachment_id)
    if ticket_id is not None:
        query = query.where(Attachment.ticket_id == ticket_id)
    if entry_id is not None:
        query = query.where(Attachment.entry_id == entry_id)
    if with_data:
        query = query.options(undefer(Attachment.data))
    found = session.scalar(query)
    if found is None:
        raise NotFound("attachment", attachment_id)
    return found


def for_ticket(*, session: Session, ticket_id: int) -> list[Attachment]:
    """The files of a ticket (received and sent), oldest first, bytes not loaded."""
    return list(session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id)
                                .order_by(Attachment.id)))


def for_entry(*, session: Session, entry_id: int) -> list[Attachment]:
    """The documents an entry keeps (the model letter), oldest first, bytes not loaded."""
    return list(session.scalars(select(Attachment).where(Attachment.entry_id == entry_id)
                                .order_by(Attachment.id)))


def by_ids(*, session: Session, attachment_ids: Sequence[int]) -> list[Attachment]:
    """Files with their bytes, in the order of the ids (missing ones left out)."""
    if not attachment_ids:
        return []
    found = {row.id: row for row in session.scalars(
        select(Attachment).where(Attachment.id.in_(list(attachment_ids)))
        .options(undefer(Attachment.data)))}
    return [found[number] for number in attachment_ids if number in found]


def attach_to_outbox(*, session: Session, outbox: Outbox,
                     attachments: Sequence[Attachment]) -> Outbox:
    """Send these files with an outbox row (after its text: Telegram documents, MIME parts)."""
    wrong = [item.id for item in attachments
             if item.direction != OUT or item.ticket_id != outbox.ticket_id]
    if wrong:
        raise ValueError(f"attachments {wrong} are not outgoing files of ticket "
                         f"{outbox.ticket_id}")
    outbox.attachment_ids = [*(outbox.attachment_ids or []), *(item.id for item in attachments)]
    session.flush()
    return outbox


def keep_for_entry(*, session: Session, attachments: Sequence[Attachment], entry_id: int,
                   created_by: str) -> list[Attachment]:
    """Copy an adviser's files to an entry's documents; an asker's upload is refused.

    A copy, not a link: the ticket's own files follow the ticket's retention and erasure,
    the entry's documents stay as long as the entry.
    """
    kept = []
    for item in attachments:
        if item.direction != OUT or item.source != "adviser":
            raise InvalidInput(f"« {item.filename} » vient du demandeur : ses fichiers ne "
                               "deviennent jamais des documents de la base de connaissances.")
        copy = Attachment(
            ticket_id=None, ticket_message_id=None, entry_id=entry_id, direction=OUT,
            source="adviser", filename=item.filename, content_type=item.content_type,
            size=item.size, sha256=item.sha256, data=item.data, created_by=created_by)
        session.add(copy)
        kept.append(copy)
    session.flush()
    return kept


def delete_for_tickets(*, session: Session, ticket_ids: Sequence[int]) -> int:
    """Delete the files of these tickets, bytes and names (retention, erasure)."""
    removed = 0
    ids = list(ticket_ids)
    for start in range(0, len(ids), 500):
        result = session.execute(delete(Attachment).where(
            Attachment.ticket_id.in_(ids[start:start + 500])))
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


def count_received(*, session: Session, start: datetime, end: datetime) -> int:
    """Count the files askers sent in a period (the statistics)."""
    return int(session.scalar(select(func.count(Attachment.id)).where(
        Attachment.direction == IN, Attachment.created_at >= start,
        Attachment.created_at < end)) or 0)
