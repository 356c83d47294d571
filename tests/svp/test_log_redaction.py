"""Secrets are masked in every log record: messages, arguments, tracebacks, any handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from svp import redaction

TOKEN = "123456789:" + "A" * 35


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A handler added after the redaction is installed, as uvicorn's are."""
    previous = logging.getLogRecordFactory()
    redaction.install([TOKEN, "webhook-secret-42", "metrics-token-7", None, "abc"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logging.setLogRecordFactory(previous)


def test_the_bot_token_in_an_httpx_url_is_masked(captured: io.StringIO) -> None:
    logging.getLogger("test.redaction").info(
        'HTTP Request: POST %s "HTTP/1.1 200 OK"',
        f"https://api.telegram.org/bot{TOKEN}/getUpdates")
    line = captured.getvalue()
    assert TOKEN not in line and "bot[masqué]/getUpdates" in line


def test_configured_secrets_and_url_passwords_are_masked(captured: io.StringIO) -> None:
    logger = logging.getLogger("test.redaction")
    logger.debug("webhook secret %s, metrics %s", "webhook-secret-42", "metrics-token-7")
    logger.warning("cannot reach postgresql+psycopg://svp:pa55word@db:5432/svp")
    logger.info("abc is too short to be a secret")
    text = captured.getvalue()
    assert "webhook-secret-42" not in text and "metrics-token-7" not in text
    assert "pa55word" not in text and "svp:[masqué]@db" in text
    assert "abc is too short" in text


def test_a_token_in_a_traceback_is_masked(captured: io.StringIO) -> None:
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        logging.getLogger("test.redaction").exception("delivery failed")
    text = captured.getvalue()
    assert "RuntimeError" in text and TOKEN not in text


def test_any_token_shaped_value_is_masked_even_if_not_configured(
        captured: io.StringIO) -> None:
    other = "987654321:" + "b" * 35
    logging.getLogger("test.redaction").error("token %s refused", other)
    assert other not in captured.getvalue()
