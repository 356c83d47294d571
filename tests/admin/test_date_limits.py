"""Dates at the extremes of `datetime` are refused cleanly (422), never a 500."""

from __future__ import annotations

import pytest
from admin_helpers import SEALER, log_in, make_user
from api_helpers import api_client, bearer, make_token
from fastapi.testclient import TestClient

from admin.app import create_app
from admin.config import AdminConfig
from knowledge.runtime import Knowledge


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_an_instant_outside_utc_is_a_json_422(admin_knowledge: Knowledge, since: str) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    with api_client(admin_knowledge, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/entries", params={"updated_since": since}, headers=auth)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "Date hors des limites" in error["message"]


def test_an_instant_without_time_zone_is_read_as_utc(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    with api_client(admin_knowledge, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/entries", params={"updated_since": "2020-01-01T00:00:00"},
                              headers=auth)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/api/v1/stats?from=9999-01-01&to=9999-12-31",
                                  "/api/v1/stats?from=9990-01-01&to=9999-12-31"])
def test_api_statistics_refuse_the_last_year_of_datetime(admin_knowledge: Knowledge,
                                                         path: str) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    with api_client(admin_knowledge, raise_server_exceptions=False) as client:
        response = client.get(path, headers=auth)
    assert response.status_code == 422, response.text
    assert "entre l'an 2000 et l'an 9998" in response.json()["error"]["message"]


@pytest.mark.parametrize("path, message", [
    ("/audit?from=0001-01-01", "Date hors des limites"),
    ("/audit?to=9999-12-31", "Date hors des limites"),
    ("/digest?month=9999-12", "Mois hors des limites"),
    ("/digest?month=0000-01", "Mois hors des limites"),
    ("/digest?month=0001-01", "Mois hors des limites"),
    ("/stats?from=9999-01-01&to=9999-12-31", "l&#39;an 9998"),
    ("/queue?min_age=99999999", "ancienneté"),
])
def test_web_filters_refuse_dates_at_the_extremes(admin_knowledge: Knowledge, path: str,
                                                  message: str) -> None:
    make_user(admin_knowledge, "camille", role="admin")
    with TestClient(create_app(knowledge=admin_knowledge,
                               config=AdminConfig(secret_sealer=SEALER)),
                    follow_redirects=False, raise_server_exceptions=False) as client:
        log_in(client, "camille")
        response = client.get(path)
    assert response.status_code == 422, response.text[:300]
    assert message in response.text
