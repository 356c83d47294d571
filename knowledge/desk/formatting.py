"""Text of the messages sent through Telegram: light markup, signature, references, parts.

Advisers may write **bold**, *italics* (or _italics_), lists (lines starting with "- ") and
links ([text](https://...)); everything else is escaped, so the result is always valid
Telegram HTML. The same functions render the admin's preview and the bot's messages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from knowledge.desk.tables import readable_tables
from knowledge.text import clean

MESSAGE_LIMIT = 4_096  # Telegram's limit on the text of one message
REFERENCES_TITLE = "Références :"
_SEPARATORS = ("\n\n", "\n", " ")
_BULLET = re.compile(r"^(\s*)[-*•]\s+")
_INLINE = re.compile(
    r"\[(?P<label>[^\]\n]+)\]\((?P<url>(?:https?://|tg://)[^\s)]+)\)"
    r"|\*\*(?P<bold>\S(?:[^\n]*?\S)?)\*\*"
    r"|(?<![\w*])\*(?P<star>[^\s*](?:[^*\n]*?[^\s*])?)\*(?![\w*])"
    r"|(?<!\w)_(?P<under>[^\s_](?:[^_\n]*?[^\s_])?)_(?!\w)"
)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _inline(text: str) -> str:
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(_escape(text[position:match.start()]))
        if match.group("url"):
            url = html.escape(match.group("url"), quote=True)
            out.append(f'<a href="{url}">{_escape(match.group("label"))}</a>')
        elif match.group("bold") is not None:
            out.append(f"<b>{_inline(match.group('bold'))}</b>")
        else:
            inner = match.group("star") or match.group("under") or ""
            out.append(f"<i>{_inline(inner)}</i>")
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def to_telegram_html(text: str) -> str:
    """Render the light markup of an adviser's text as Telegram HTML (the rest escaped)."""
    lines = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            line = f"{bullet.group(1)}• {line[bullet.end():]}"
        lines.append(_inline(line))
    return "\n".join(lines)


_PAGE_INLINE = re.compile(
    r"\[(?P<label>[^\]\n]+)\]\((?P<url>https?://[^\s)]+)\)"
    r"|\*\*(?P<bold>\S(?:[^\n]*?\S)?)\*\*"
)


def to_page_html(text: str) -> str:
    """Render **bold** and [links](https://...) of a stored text for a web page, the rest escaped.

    The same markup as in Telegram, read the same way; only http and https links, which open
    without giving the page away (rel="noopener noreferrer").
    """
    out: list[str] = []
    position = 0
    for match in _PAGE_INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()], quote=True))
        if match.group("url"):
            url = html.escape(match.group("url"), quote=True)
            label = html.escape(match.group("label"), quote=True)
            out.append(f'<a href="{url}" rel="noopener noreferrer">{label}</a>')
        else:
            out.append(f"<strong>{to_page_html(match.group('bold'))}</strong>")
        position = match.end()
    out.append(html.escape(text[position:], quote=True))
    return "".join(out)


def to_plain_text(text: str) -> str:
    """The light markup read as plain text (an email's text part): links as « label (url) »."""
    def plain(match: re.Match[str]) -> str:
        if match.group("url"):
            return f"{match.group('label')} ({match.group('url')})"
        inner = match.group("bold") or match.group("star") or match.group("under") or ""
        return _INLINE.sub(plain, inner)

    lines = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            line = f"{bullet.group(1)}• {line[bullet.end():]}"
        lines.append(_INLINE.sub(plain, line))
    return "\n".join(lines)


def to_mail_html(text: str, *, formatted: bool = True) -> str:
    """A message as the HTML of an email: paragraphs and line breaks, markup or all escaped."""
    render = to_telegram_html if formatted else _escape
    paragraphs = [block for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    return "\n".join(f"<p>{render(block).replace(chr(10), '<br>' + chr(10))}</p>"
                     for block in paragraphs)


def escaped_length(text: str) -> int:
    """Length of a plain text once escaped for Telegram HTML."""
    return len(_escape(text))


def split_text(text: str, limit: int) -> list[str]:
    """Cut plain text into pieces whose escaped form fits `limit`, on paragraph boundaries first.

    Falls back to line breaks, then spaces, then a hard cut for a single endless word.
    """
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if escaped_length(rest) <= limit:
            chunks.append(rest)
            break
        size = end = 0
        for index, char in enumerate(rest):
            size += escaped_length(char)
            if size > limit:
                break
            end = index + 1
        window = rest[:end]
        cut = next((pos for sep in _SEPARATORS if (pos := window.rfind(sep)) > 0), end)
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk:
            chunks.append(chunk)
    return chunks


def _split_rendered(text: str, limit: int, render: Callable[[str], str]) -> list[str]:
    # Markup adds tags: cut as plain text, then cut again any piece whose rendering overflows.
    pieces: list[str] = []
    for chunk in split_text(text, limit):
        if len(render(chunk)) <= limit or len(chunk) < 2:
            pieces.append(chunk)
        else:
            pieces.extend(_split_rendered(chunk, max(len(chunk) * 3 // 4, 1), render))
    return pieces


def render_parts(*, body: str, header: str | None = None, footer: str | None = None,
                 limit: int = MESSAGE_LIMIT, formatted: bool = False) -> list[str]:
    """Render a message as Telegram HTML parts (header in bold), each within `limit`."""
    title = clean(header) if header else ""
    # Telegram shows no tables: each row becomes one line with its headers.
    pieces = [piece for piece in (readable_tables(clean(body)), clean(footer) if footer else "")
              if piece]
    source = "\n\n".join(pieces)
    render = to_telegram_html if formatted else _escape
    bold = len("<b></b>")
    text = f"{title}\n\n{source}" if title and source else (title or source)
    chunks = _split_rendered(text, limit - bold, render)
    parts = []
    for index, chunk in enumerate(chunks):
        if index == 0 and title and chunk.startswith(title):
            parts.append(f"<b>{_escape(title)}</b>{render(chunk[len(title):])}")
        else:
            parts.append(render(chunk))
    return parts or [_escape("(message vide)")]


def signature_for(template: str, display_name: str) -> str:
    """Fill a signature template: {prénom} (first word of the name) and {nom} (full name)."""
    name = " ".join(display_name.split())
    first = name.split(" ", 1)[0] if name else ""
    return (template.replace("{prénom}", first).replace("{prenom}", first)
            .replace("{nom}", name)).strip()


def compose(*, answer: str, references: Sequence[str] = (), signature: str = "") -> str:
    """The text sent to the asker: the answer, its legal references one per line, signature."""
    blocks = [answer.strip()]
    lines = [line.strip() for line in references if line.strip()]
    if lines:
        blocks.append("\n".join([REFERENCES_TITLE, *lines]))
    if signature.strip():
        blocks.append(signature.strip())
    return "\n\n".join(block for block in blocks if block)
