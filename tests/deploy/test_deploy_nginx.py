"""The shipped nginx site: accepted by nginx, and in front of a real `svp serve` it redirects,
terminates TLS, serves the static files itself and limits the webhook's body."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from deploy_helpers import (
    SERVER_NAME,
    SITE,
    NginxSite,
    nginx_test,
    render_site,
    running_nginx,
    running_svp_web,
)

from admin.pages import STATIC_DIR


def test_nginx_accepts_the_rendered_site(tmp_path: Path) -> None:
    site = render_site(tmp_path, upstream="127.0.0.1:8000", static_dir=STATIC_DIR)
    result = nginx_test(site.conf, site.prefix)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("values", [
    {"__SVP_TLS_CERT__": "__SVP_TLS_CERT__"},  # a placeholder left as is
    {"__SVP_UPSTREAM__": "127.0.0.1:port"},
    {"__SVP_SERVER_NAME__": "svp.test; listen"},
])
def test_nginx_refuses_a_broken_rendering(tmp_path: Path, values: dict[str, str]) -> None:
    site = render_site(tmp_path, upstream="127.0.0.1:8000", static_dir=STATIC_DIR,
                       values=values)
    assert nginx_test(site.conf, site.prefix).returncode != 0


def test_site_leaves_the_security_headers_to_the_app() -> None:
    text = SITE.read_text(encoding="utf-8").lower()
    for header in ("strict-transport-security", "content-security-policy", "x-frame-options"):
        assert header not in text


def _tls_client(site: NginxSite) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(site.cert))
    return httpx.Client(base_url=f"https://127.0.0.1:{site.https_port}", verify=context,
                        headers={"Host": SERVER_NAME}, timeout=30, follow_redirects=False)


@pytest.mark.slow
def test_nginx_in_front_of_a_real_web_process(tmp_path: Path) -> None:
    with running_svp_web(tmp_path / "data") as web:
        upstream = web.address.removeprefix("http://")
        site = render_site(tmp_path / "nginx", upstream=upstream, static_dir=STATIC_DIR)
        with running_nginx(site), _tls_client(site) as client:
            plain = httpx.get(f"http://127.0.0.1:{site.http_port}/kb?q=loyer",
                              headers={"Host": SERVER_NAME}, timeout=30)
            health = client.get("/healthz")
            details = client.get("/healthz",
                                 headers={"Authorization": f"Bearer {web.metrics_token}"})
            css = client.get("/static/admin.css", headers={"Accept-Encoding": "gzip"})
            page = client.get("/login")
            too_big = client.post("/telegram/webhook", content=b"x" * (2 * 1024 * 1024),
                                  headers={"Content-Type": "application/json"})
            small = client.post("/telegram/webhook", content=b"{}",
                                headers={"Content-Type": "application/json"})

    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://{SERVER_NAME}/kb?q=loyer"
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert details.json()["database"]["up_to_date"] is True  # the bearer reaches the app
    # Served by nginx from disk: cached, compressed, none of the app's headers.
    assert css.status_code == 200 and css.text == (STATIC_DIR / "admin.css").read_text()
    assert "max-age=3600" in css.headers["cache-control"]
    assert css.headers.get("content-encoding") == "gzip"
    assert "content-security-policy" not in css.headers
    # Proxied to the app: its headers, HSTS included, exactly once.
    assert page.status_code == 200 and "content-security-policy" in page.headers
    assert page.headers.get_list("strict-transport-security") == [
        "max-age=31536000; includeSubDomains"]
    assert too_big.status_code == 413
    assert small.status_code != 413  # no webhook configured: the app's own answer
