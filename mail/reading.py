"""Reading a received email: who sent it, what it asks, what it answers, and whether a person
wrote it at all. Never raises on a malformed message: what cannot be read is left empty."""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import parseaddr
from html.parser import HTMLParser

from knowledge.text import clean

# Replies quote the message they answer under a line like these (Outlook, Gmail, Thunderbird,
# Apple Mail, in French and English): everything from there on is the old message.
_QUOTE_HEADERS = re.compile(
    r"^\s*(?:"
    r"Le .{1,200}a écrit\s*:"
    r"|On .{1,200}wrote\s*:"
    r"|-{2,}\s*(?:Message d'origine|Original Message|Message transféré|Forwarded message)\s*-{2,}"
    r"|_{10,}"
    r"|(?:De|From)\s*:.*\n(?:.*\n){0,3}?\s*(?:Envoyé|Sent|Date)\s*:"
    r")",
    re.IGNORECASE | re.MULTILINE)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)  # RFC 3676 signature separator
_SUBJECT_PREFIXES = re.compile(r"^\s*(?:(?:re|tr|fw|fwd|réf|rép)\s*(?:\[\d+\])?\s*:\s*)+",
                               re.IGNORECASE)
_TICKET_TAG = re.compile(r"\[SVP n°\s*(\d{1,12})\]", re.IGNORECASE)
_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,900}>")
_AUTOMATIC_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_ROBOTS = re.compile(r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """A file attached to a received email."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ReadMail:
    """What a received email says, read once."""

    sender: str  # the address of From, lower case ("" when unreadable)
    subject: str  # without « RE: », « TR: »…
    text: str  # the new text: quoted replies and signature removed
    message_id: str | None
    references: tuple[str, ...]  # In-Reply-To and References, nearest first
    ticket_number: int | None  # from « [SVP n° 123] » in the subject
    automatic: str | None  # why no person wrote it (auto-reply, bounce, list), or None
    authentication_failed: str | None  # what the receiving server found wrong, or None
    attachments: tuple[Part, ...] = field(default=())


def parse(raw: bytes) -> EmailMessage:
    """The message of raw bytes, however broken (the stdlib records defects, never raises)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse: read it as raw text
        raw = dict(message.raw_items()).get(name) if hasattr(message, "raw_items") else None
        value = raw
    return clean(str(value)) if value is not None else ""


def sender_of(message: Message) -> str:
    """The From address, lower case; "" when there is none or it cannot be read."""
    name, address = parseaddr(_header(message, "From"))
    del name
    address = address.strip().lower()
    return address if re.fullmatch(r"[^@\s<>]{1,64}@[^@\s<>]{1,190}\.[^@\s<>]{2,63}",
                                   address) else ""


def automatic_reason(message: Message, *, own_domain: str, own_address: str) -> str | None:
    """Why a message was not written by a person for us (never answer it), or None."""
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(message, "Precedence").lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get("Return-Path") is not None and _header(message, "Return-Path") in ("<>", ""):
        return "Return-Path vide (avis de non-remise)"
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "liste de diffusion"
    if any(_header(message, name) for name in ("X-Autoreply", "X-Autorespond")):
        return "réponse automatique"
    if message.get_content_type() == "multipart/report":
        return "rapport de remise"
    sender = sender_of(message)
    if sender == own_address.lower():
        return "message envoyé par le SVP lui-même"
    if _ROBOTS.match(sender):
        return f"expéditeur automatique ({sender})"
    own = f"@{own_domain.lower()}>"
    if _header(message, "Message-ID").lower().endswith(own):
        return "message du SVP revenu (boucle)"
    return None


def authentication_failure(message: Message, *, trusted_servers: tuple[str, ...] = ()
                           ) -> str | None:
    """What the receiving server's Authentication-Results says against the sender, or None.

    DMARC failing, or SPF failing without DKIM passing, marks a forged From. Only results of
    the servers named are read when some are (a sender can add such a header themselves).
    """
    try:
        values = [str(value) for value in message.get_all("Authentication-Results") or []]
    except Exception:
        return None
    for value in values:
        server = value.split(";", 1)[0].strip().lower()
        if trusted_servers and server not in trusted_servers:
            continue
        results = dict(re.findall(r"\b(dmarc|spf|dkim)\s*=\s*([a-z]+)", value.lower()))
        if results.get("dmarc") == "fail":
            return f"DMARC en échec ({server})"
        if results.get("spf") in ("fail", "softfail") and results.get("dkim") != "pass":
            return f"SPF en échec sans signature DKIM valide ({server})"
    return None


class _TextOfHtml(HTMLParser):
    """The text of an HTML body: scripts and styles dropped, blocks on their own lines."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "table", "ul", "ol", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag == "blockquote":
            self._quoted += 1
        if tag in self._BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(self._skip - 1, 0)
        elif tag == "blockquote":
            self._quoted = max(self._quoted - 1, 0)
        if tag in self._BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._quoted:  # a quoted reply is the old message
            self.out.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body."""
    parser = _TextOfHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # broken markup: what was read so far
        pass
    text = html.unescape("".join(parser.out))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _content(part: Message) -> str:
    try:
        value = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # unknown charset or broken transfer encoding: decode what we can
        payload = part.get_payload(decode=True)
        value = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return value if isinstance(value, str) else ""


def body_text(message: EmailMessage) -> str:
    """The text of a message: its plain part, or its HTML part read as text."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    content = _content(part)
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def new_text(text: str) -> str:
    """A reply's own words: the quoted old message and the signature cut off."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n")
             if not line.lstrip().startswith(">")]
    text = "\n".join(lines)
    quote = _QUOTE_HEADERS.search(text)
    if quote is not None and quote.start() > 0:
        text = text[:quote.start()]
    signature = _SIGNATURE.search(text)
    if signature is not None and signature.start() > 0:
        text = text[:signature.start()]
    return clean(text)


def subject_of(message: Message) -> str:
    """The subject without reply and forward prefixes, nor our « [SVP n° 123] » tag."""
    subject = _TICKET_TAG.sub("", _header(message, "Subject"))
    return clean(_SUBJECT_PREFIXES.sub("", _SUBJECT_PREFIXES.sub("", subject).strip()))


def references_of(message: Message) -> tuple[str, ...]:
    """The Message-IDs this message answers: In-Reply-To first, then References, newest first."""
    found = _MESSAGE_IDS.findall(_header(message, "In-Reply-To"))
    found += reversed(_MESSAGE_IDS.findall(_header(message, "References")))
    seen: list[str] = []
    for item in found:
        if item not in seen:
            seen.append(item)
    return tuple(seen)


def attachments_of(message: EmailMessage, *, limit: int = 20) -> tuple[Part, ...]:
    """The files attached (inline images included), at most `limit`; unreadable ones skipped."""
    parts: list[Part] = []
    try:
        candidates = list(message.iter_attachments())
    except Exception:
        return ()
    for part in candidates:
        if len(parts) >= limit:
            break
        try:
            data = part.get_payload(decode=True)
        except Exception:
            continue
        if not isinstance(data, bytes) or not data:
            continue
        parts.append(Part(filename=clean(part.get_filename() or "") or "piece-jointe",
                          content_type=part.get_content_type(), data=data))
    return tuple(parts)


def read(raw: bytes, *, own_domain: str, own_address: str,
         trusted_servers: tuple[str, ...] = ()) -> ReadMail:
    """Everything the desk needs of a received email."""
    message = parse(raw)
    subject = subject_of(message)
    number = _TICKET_TAG.search(_header(message, "Subject"))
    message_id = (_MESSAGE_IDS.findall(_header(message, "Message-ID")) or [None])[0]
    return ReadMail(
        sender=sender_of(message), subject=subject, text=new_text(body_text(message)),
        message_id=message_id, references=references_of(message),
        ticket_number=int(number.group(1)) if number else None,
        automatic=automatic_reason(message, own_domain=own_domain, own_address=own_address),
        authentication_failed=authentication_failure(message, trusted_servers=trusted_servers),
        attachments=attachments_of(message))

