"""The whole API schema fuzzed by schemathesis with a write token: no 5xx, no schema violation.

Bounded (a few dozen examples per operation, derandomized) so that it stays around a minute;
run on SQLite with a small demo base (a few entries of the demo data, open tickets).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from admin_helpers import make_ticket, make_user
from api_helpers import bearer, make_token
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from admin.app import create_app
from admin.config import AdminConfig
from knowledge.catalog import entries
from knowledge.runtime import Knowledge
from knowledge.store.db import sqlite_url_for

pytestmark = pytest.mark.slow  # fuzzing every operation of the schema takes half a minute

DEMO_ENTRIES = 8
EXAMPLES = 60  # per operation and mode (derandomized): well under a minute in all


@pytest.fixture(scope="module")
def fuzzed(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory,
           admin_embedder: Any, demo_data: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """The admin app on an SQLite demo base, and the header of a write token (one per module:
    what the fuzzing writes stays for the next operations)."""
    tmp_path = tmp_path_factory.mktemp("fuzzed")
    path = tmp_path / "svp.db"
    shutil.copyfile(sqlite_template, path)
    knowledge = Knowledge.from_url(sqlite_url_for(path), embedder_factory=lambda: admin_embedder,
                                   index_dir=tmp_path / "index")
    lines = demo_data.read_text(encoding="utf-8").splitlines()[:DEMO_ENTRIES]
    with knowledge.session() as session:
        for line in lines:
            row = json.loads(line)
            entries.create(session=session, actor="test", embedder=knowledge.embedder,
                           content=entries.EntryFields(question=row["question"],
                                                       answer=row["answer"],
                                                       theme=row.get("theme"),
                                                       source=row.get("source")))
    make_user(knowledge, "camille", role="admin")
    for text in ("Le dépôt de garantie est-il rendu au locataire ?",
                 "Comment calculer le supplément de loyer ?", "Question sans rapport"):
        make_ticket(knowledge, text)
    auth = bearer(make_token(knowledge, "camille", scope="write"))
    app = create_app(knowledge=knowledge, config=AdminConfig(api_rate_per_minute=100_000))
    yield app, auth
    knowledge.close()


OPERATIONS = ["GET /entries", "POST /entries", "GET /entries/{entry_id}",
              "PATCH /entries/{entry_id}", "POST /entries/{entry_id}/retire", "GET /themes",
              "GET /tickets",
              "GET /tickets/{ticket_id}", "POST /tickets/{ticket_id}/answer",
              "POST /tickets/{ticket_id}/note", "GET /search", "GET /stats"]
PARAMETERLESS = {"GET /themes"}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


def test_every_operation_of_the_schema_is_fuzzed(fuzzed: tuple[Any, dict[str, str]]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed[0])
    labels = sorted(result.ok().label for result in schema.get_all_operations())
    assert labels == sorted(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error_and_no_schema_violation(
        fuzzed: tuple[Any, dict[str, str]], label: str, mode: GenerationMode) -> None:
    app, auth = fuzzed
    if mode is GenerationMode.NEGATIVE and label in PARAMETERLESS:
        pytest.skip("no parameter nor body to make invalid")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operation = schema.find_operation_by_label(label)
    assert operation is not None

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=auth, checks=CHECKS)
        statuses.append(response.status_code)

    statuses: list[int] = []
    check()
    # The token works: the fuzzing reached the operation, not only the authentication.
    assert 401 not in statuses and 429 not in statuses
    if mode is GenerationMode.POSITIVE and label in ("GET /entries", "GET /search",
                                                      "GET /tickets", "POST /entries"):
        assert any(200 <= status < 300 for status in statuses), statuses
