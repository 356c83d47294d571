"""Files of the desk: types told by content, limits, French reasons, storage and checksum."""

from __future__ import annotations

import hashlib

import pytest
import sample_files
from sqlalchemy.orm import Session

from knowledge.desk import attachments, tickets
from knowledge.desk.attachments import MB, AttachmentLimits, Upload
from knowledge.errors import InvalidInput
from knowledge.people import askers, organisations
from knowledge.store.mail_models import Attachment

LIMITS = AttachmentLimits()


def _one(name: str, data: bytes, limits: AttachmentLimits = LIMITS
         ) -> tuple[list[attachments.Accepted], list[attachments.Refused]]:
    return attachments.accept(uploads=[Upload(name, None, data)], limits=limits)


@pytest.mark.parametrize(("name", "data", "content_type"), [
    ("courrier.pdf", sample_files.pdf(), "application/pdf"),
    ("plan.png", sample_files.png(), "image/png"),
    ("photo.jpg", sample_files.jpeg(), "image/jpeg"),
    ("modele.docx", sample_files.docx(),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("note.odt", sample_files.odt(), "application/vnd.oasis.opendocument.text"),
    ("liste.csv", b"nom;loyer\nDupont;450\n", "text/csv"),
])
def test_real_small_documents_are_accepted_with_their_sniffed_type(
        name: str, data: bytes, content_type: str) -> None:
    [accepted], refused = _one(name, data)
    assert refused == []
    assert (accepted.filename, accepted.content_type, accepted.size) == (name, content_type,
                                                                         len(data))


def test_an_executable_renamed_pdf_is_refused_by_its_content() -> None:
    accepted, [refused] = _one("facture.pdf", sample_files.exe())
    assert accepted == []
    assert "ne correspond pas à un fichier .pdf" in refused.reason


def test_an_executable_is_refused_naming_its_extension() -> None:
    _, [refused] = _one("setup.exe", sample_files.exe())
    assert refused.reason == "type de fichier non accepté (.exe)"
    assert refused.message == "« setup.exe » : type de fichier non accepté (.exe)"


def test_html_or_a_plain_zip_under_any_name_is_refused() -> None:
    for name, data in (("page.html", b"<html><script>alert(1)</script></html>"),
                       ("page.txt.html", b"hello"), ("archive.docx", sample_files.plain_zip()),
                       ("archive.zip", sample_files.plain_zip())):
        accepted, refused = _one(name, data)
        assert accepted == [] and len(refused) == 1, name


def test_a_zip_bomb_named_docx_is_refused_without_unpacking_it() -> None:
    bomb = sample_files.zip_bomb(30)
    assert len(bomb) < MB  # 30 MB of zeros packed small: a ratio far above 100
    accepted, [refused] = _one("contrat.docx", bomb)
    assert accepted == []
    assert "archive suspecte" in refused.reason


def test_a_file_over_the_limit_is_refused_with_its_size_in_french() -> None:
    _, [refused] = _one("scan.pdf", b"%PDF-1.4\n" + b"0" * (30 * MB))
    assert refused.reason == "fichier trop lourd (30 Mo, maximum 10 Mo)"
    _, [refused] = _one("scan.pdf", b"%PDF-1.4\n" + b"0" * int(12.4 * MB))
    assert refused.reason == "fichier trop lourd (12,4 Mo, maximum 10 Mo)"


def test_the_message_limit_refuses_the_file_that_passes_it_and_keeps_the_others() -> None:
    limits = AttachmentLimits(per_file_bytes=10 * MB, per_message_bytes=12 * MB)
    big = b"%PDF-1.4\n" + b"0" * (7 * MB)
    accepted, refused = attachments.accept(
        uploads=[Upload("a.pdf", None, big), Upload("b.pdf", None, big),
                 Upload("c.png", None, sample_files.png())], limits=limits)
    assert [item.filename for item in accepted] == ["a.pdf", "c.png"]
    assert [item.filename for item in refused] == ["b.pdf"]
    assert "12 Mo au total" in refused[0].reason


def test_file_names_lose_paths_and_control_characters_and_get_their_true_extension() -> None:
    [accepted], _ = _one("C:\\Users\\x\\..\\\x1b[31mplan\u202e.png", sample_files.png())
    assert accepted.filename == "[31mplan.png"  # ESC and the RTL override are gone
    [accepted], _ = _one("../../etc/passwd", sample_files.pdf())
    assert accepted.filename == "passwd.pdf"
    [accepted], _ = _one("x" * 400 + ".pdf", sample_files.pdf())
    assert len(accepted.filename) == 255 and accepted.filename.endswith(".pdf")
    [accepted], _ = _one("", sample_files.png())
    assert accepted.filename == "fichier.png"


def test_check_refuses_all_when_one_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"setup\.exe"):
        attachments.check(uploads=[Upload("a.pdf", None, sample_files.pdf()),
                                   Upload("setup.exe", None, sample_files.exe())], limits=LIMITS)


def _ticket(session: Session) -> tuple[int, int, int]:
    org = organisations.create(session=session, name="Org", kind=organisations.parse_kind("esh"),
                               departement="13", actor="t")
    asker = askers.register_pending(session=session, telegram_user_id=20, chat_id=20,
                                    telegram_username=None, full_name="Paul Roux",
                                    email="paul@org.fr", organisation_id=org.id)
    askers.approve(session=session, asker_id=asker.id, actor="t")
    ticket = tickets.submit(session=session, asker_id=asker.id, text="Question ?")
    return asker.id, ticket.id, ticket.messages[0].id


def test_a_stored_file_keeps_its_bytes_and_checksum_and_a_telegram_file_once(
        session: Session) -> None:
    _, ticket_id, message_id = _ticket(session)
    data = sample_files.pdf()
    [accepted], _ = _one("courrier.pdf", data)
    first = attachments.store(session=session, ticket_id=ticket_id,
                              ticket_message_id=message_id, upload=accepted, source="telegram",
                              created_by="asker:1", telegram_file_unique_id="AQADxyz")
    again = attachments.store(session=session, ticket_id=ticket_id,
                              ticket_message_id=message_id, upload=accepted, source="telegram",
                              created_by="asker:1", telegram_file_unique_id="AQADxyz")
    session.commit()
    assert again.id == first.id
    [stored] = attachments.for_ticket(session=session, ticket_id=ticket_id)
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    loaded = attachments.get(session=session, attachment_id=stored.id, ticket_id=ticket_id,
                             with_data=True)
    assert loaded.data == data
    assert session.query(Attachment).count() == 1


def test_an_asker_upload_never_becomes_an_entry_document(session: Session) -> None:
    _, ticket_id, message_id = _ticket(session)
    [accepted], _ = _one("courrier.pdf", sample_files.pdf())
    upload = attachments.store(session=session, ticket_id=ticket_id,
                               ticket_message_id=message_id, upload=accepted,
                               source="telegram", created_by="asker:1")
    with pytest.raises(InvalidInput, match="vient du demandeur"):
        attachments.keep_for_entry(session=session, attachments=[upload], entry_id=1,
                                   created_by="user:x")
