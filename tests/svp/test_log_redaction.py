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


def test_uvicorn_access_lines_format_and_hide_a_token_in_the_path(
        captured: io.StringIO) -> None:
    from uvicorn.logging import AccessFormatter

    handler = logging.StreamHandler(captured)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                         use_colors=False))
    logger = logging.getLogger("test.redaction.access")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        # uvicorn's own call: the formatter unpacks these five arguments itself.
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:40498", "POST",
                    f"/telegram/webhook/{TOKEN}", "1.1", 200)
    finally:
        logger.removeHandler(handler)
    line = captured.getvalue()
    assert "Logging error" not in line and TOKEN not in line
    assert '127.0.0.1:40498 - "POST /telegram/webhook/[masqué] HTTP/1.1" 200' in line


def test_objects_and_mappings_as_arguments_are_redacted(captured: io.StringIO) -> None:
    class Url:
        def __str__(self) -> str:
            return f"https://api.telegram.org/bot{TOKEN}/getMe"

    logger = logging.getLogger("test.redaction")
    logger.info("calling %s (%d tries)", Url(), 3)
    logger.info("%(what)s at %(url)s", {"what": "getMe", "url": Url()})
    logger.info("a malformed call %s %s", "only one argument")
    text = captured.getvalue()
    assert TOKEN not in text and "(3 tries)" in text and "getMe at https://" in text
    assert "a malformed call" in text


def test_svp_serve_keeps_uvicorn_s_own_access_format_masked_and_without_query(
        captured: io.StringIO) -> None:
    import logging.config

    from svp.cli.web import _log_config

    config = _log_config()
    assert config["formatters"]["access"]["()"] == "uvicorn.logging.AccessFormatter"
    stream = io.StringIO()
    config["handlers"]["access"]["stream"] = stream
    config["formatters"]["access"]["use_colors"] = False
    config["disable_existing_loggers"] = False
    logging.config.dictConfig(config)
    try:
        # uvicorn's own call, with a token in the path and a search in the query string.
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:40498", "GET",
            f"/telegram/webhook/{TOKEN}?q=loyer+impayé+Durand", "1.1", 200)
    finally:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
    line = stream.getvalue()
    assert line == 'INFO:     127.0.0.1:40498 - "GET /telegram/webhook/[masqué] HTTP/1.1" 200 OK\n'
