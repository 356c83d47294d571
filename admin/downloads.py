"""Files handed out by the admin: always as a download, never rendered by the browser."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import UploadFile
from fastapi.responses import Response

from knowledge.desk import attachments
from knowledge.desk.attachments import Accepted, AttachmentLimits, Refused, Upload
from knowledge.errors import InvalidInput
from knowledge.store.mail_models import Attachment


def download(attachment: Attachment) -> Response:
    """The file as an attachment: octet-stream, nosniff, its UTF-8 name in filename*."""
    fallback = "".join(char if char.isascii() and char.isprintable() and char not in '"\\;'
                       else "_" for char in attachment.filename)
    disposition = (f'attachment; filename="{fallback}"; '
                   f"filename*=UTF-8''{quote(attachment.filename, safe='')}")
    # An upload is never shown inline from our origin (HTML or SVG would run as our pages):
    # a generic type, the browser told not to guess, a download whatever it is.
    return Response(content=attachment.data, media_type="application/octet-stream",
                    headers={"Content-Disposition": disposition,
                             "X-Content-Type-Options": "nosniff",
                             "Cache-Control": "no-store"})


def checked_files(files: list[UploadFile] | None, limits: AttachmentLimits
                  ) -> tuple[Accepted, ...]:
    """The files of an adviser's form, all accepted, or InvalidInput naming the refused ones."""
    uploads: list[Upload] = []
    refused: list[Refused] = []
    for item in files or []:
        if not item.filename:  # an empty file field still sends a nameless part
            continue
        heavy = attachments.too_heavy(item.filename, item.size or 0, limits)
        if heavy is not None:
            refused.append(heavy)
            continue
        # Never more than the limit in memory, whatever the part claims.
        uploads.append(Upload(item.filename, item.content_type,
                              item.file.read(limits.per_file_bytes + 1)))
    accepted, also_refused = attachments.accept(uploads=uploads, limits=limits)
    refused.extend(also_refused)
    if refused:
        raise InvalidInput(attachments.refusal_text(refused) + attachments.NOTHING_SENT)
    return tuple(accepted)
