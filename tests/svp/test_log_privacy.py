"""No personal data in the logs: SQL errors without their values, access lines without queries."""

from __future__ import annotations

import logging
import logging.config

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from svp import redaction
from svp.cli.web import _log_config


def test_database_errors_do_not_carry_the_values_of_the_statement(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO themes (name, folded, created_at) "
                                "VALUES ('Loyers', 'loyers', CURRENT_TIMESTAMP)"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO themes (name, folded, created_at) "
                                "VALUES (:name, :folded, CURRENT_TIMESTAMP)"),
                           {"name": "Marie Durand, 06 12 34 56 78", "folded": "loyers"})
    assert "Marie Durand" not in str(caught.value)


def test_the_filter_strips_the_path_argument_when_arguments_are_kept() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/queue?text=Marie", "1.1", 200), None)
    assert redaction.NoQueryStrings().filter(record)
    assert record.args is not None and record.args[2] == "/queue"
    assert "Marie" not in record.getMessage()


def test_access_log_lines_lose_their_query_string_and_still_format(
        caplog: pytest.LogCaptureFixture) -> None:
    redaction.install([])  # records are frozen at creation, as in `svp serve`
    logging.config.dictConfig(_log_config())
    access = logging.getLogger("uvicorn.access")
    [handler] = access.handlers
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    record = access.makeRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/kb?q=Marie+Durand+SLS", "1.1", 200),
                               None)
    assert all(check.filter(record) for check in handler.filters)
    line = handler.format(record)
    assert line.endswith('127.0.0.1:5000 - "GET /kb HTTP/1.1" 200 OK')  # uvicorn's own format
    assert "Durand" not in line
