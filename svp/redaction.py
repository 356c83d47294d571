"""Secrets never reach a log: every record is redacted once, when it is created.

Redacting at record creation (a wrapped `logging.LogRecordFactory`) covers every handler,
including those installed later (uvicorn's), every library (httpx prints the Bot API URL,
which contains the bot token) and every level, tracebacks included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

MASK = "[masqué]"
# A Telegram bot token (`<bot id>:<35 characters>`), wherever it appears (URLs, errors).
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
# The password of a database URL (`scheme://user:password@host`).
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_MIN_SECRET_CHARS = 6  # shorter values would mask ordinary words

RecordFactory = Callable[..., logging.LogRecord]


class Redactor:
    """Masks known secret values and anything shaped like a bot token or a URL password."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values = {value for value in secrets if value and len(value) >= _MIN_SECRET_CHARS}
        self.secrets = sorted(values, key=len, reverse=True)  # longest first: no partial leak

    def redact(self, text: str) -> str:
        """Return the text with every secret masked."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _BOT_TOKEN.sub(MASK, text)
        return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)

    def redact_value(self, value: Any) -> Any:
        """A log argument with secrets masked: numbers and clean objects are kept as they are."""
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text = value if isinstance(value, str) else str(value)
        masked = self.redact(text)
        return value if masked == text else masked

    def redact_record(self, record: logging.LogRecord) -> logging.LogRecord:
        """Redact a record's message, arguments, traceback and stack."""
        # Arguments are redacted one by one rather than merged into the message: formatters
        # such as uvicorn's access log unpack `record.args` themselves.
        record.msg = self.redact_value(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: self.redact_value(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(self.redact_value(value) for value in record.args)
        try:
            record.getMessage()
        except Exception:  # a malformed call: freeze what can be shown
            record.msg = self.redact(f"{record.msg} {record.args!r}")
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return record


def install(secrets: Iterable[str | None]) -> Redactor:
    """Redact every log record from now on (installing again replaces the secrets)."""
    redactor = Redactor(secrets)
    current = logging.getLogRecordFactory()
    inner: RecordFactory = getattr(current, "svp_inner", current)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redactor.redact_record(inner(*args, **kwargs))

    factory.svp_inner = inner  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    return redactor


_QUERY = re.compile(r'(" ?[A-Z]+ [^ ?"]*)\?[^ "]*')
_ACCESS_ARGS = 5  # uvicorn's access line: client, method, path, HTTP version, status


class NoQueryStrings(logging.Filter):
    """Drops query strings from access-log lines: searches there carry question words."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == _ACCESS_ARGS and isinstance(args[2], str):
            # Arguments kept (uvicorn's formatter unpacks them): strip the path argument.
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
            return True
        message = record.getMessage()
        stripped = _QUERY.sub(r"\g<1>", message)
        if stripped != message:
            record.msg, record.args = stripped, None
        return True
