"""The production stack end to end: the shipped nginx site (TLS) in front of two web workers
and one bot process on PostgreSQL, against the stand-in Bot API.

Each web worker is its own `svp serve --no-bot` process here, so that a test can address one
worker or the other directly (through nginx, requests alternate between them); the kill test
runs `svp serve --workers 2` itself, whose supervisor (uvicorn's) brings a killed worker back.
Client addresses: everything runs on loopback, so the tests connect from other loopback
addresses (127.0.0.2, 127.0.0.3) to tell a client from the trusted proxy (127.0.0.1).
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_helpers import (
    SVP,
    NginxSite,
    clean_environment,
    free_port,
    render_site,
    running_nginx,
)
from sqlalchemy import create_engine, text
from standin_bot_api import StandInBotApi, running

import admin

pytestmark = pytest.mark.slow

TOKEN = "123456789:" + "B" * 35
WEBHOOK_SECRET = "secret-of-the-production-stack"
METRICS_TOKEN = "metrics-token-of-the-production-stack"
RATE_PER_MINUTE = 30
PASSWORD = "Colline-Vaucluse-2026-étiage"
STATIC_DIR = Path(admin.__file__).resolve().parent / "static"
START_SECONDS = 90


@dataclass
class Stack:
    """The running stack: the nginx site, the two workers' addresses, tokens, the Bot API."""

    site: NginxSite
    workers: list[str]
    database_url: str
    env: dict[str, str]
    data_dir: Path
    api: StandInBotApi
    read_token: str
    write_token: str

    @property
    def https(self) -> str:
        """The proxy's HTTPS address."""
        return f"https://127.0.0.1:{self.site.https_port}"

    def client(self, *, source: str = "127.0.0.1", site: NginxSite | None = None,
               **options: Any) -> httpx.Client:
        """An HTTP client connecting from a loopback address, trusting the site's certificate."""
        context = ssl.create_default_context(cafile=str((site or self.site).cert))
        transport = httpx.HTTPTransport(local_address=source, verify=context)
        return httpx.Client(transport=transport, timeout=30, **options)

    def scalar(self, query: str, **params: Any) -> Any:
        """One value read straight from the database."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(query), params).scalar()
        finally:
            engine.dispose()


def _svp(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([str(SVP), *args], env=env, cwd=cwd, input=stdin,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"svp {' '.join(args)}: {result.stderr}"
    return result.stdout


@contextmanager
def _process(command: list[str], env: dict[str, str], cwd: Path, log: Path,
             ) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def _wait_healthy(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"process stopped:\n{log.read_text(encoding='utf-8', errors='replace')}")
        try:
            if httpx.get(f"{address}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{address} did not start:\n{log.read_text(encoding='utf-8', errors='replace')}")


def _serve(stack: ExitStack, env: dict[str, str], data_dir: Path, name: str,
           *extra: str, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    port = port or free_port()
    log = data_dir / f"{name}.log"
    process = stack.enter_context(_process(
        [str(SVP), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-bot", *extra],
        env, data_dir, log))
    address = f"http://127.0.0.1:{port}"
    _wait_healthy(address, process, log)
    return address, process


@pytest.fixture(scope="module")
def postgres_database(postgres_server: Any) -> Iterator[str]:
    """A fresh PostgreSQL database of its own (the stack's processes all use it)."""
    url = postgres_server.create("svp_stack")
    try:
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture(scope="module")
def stack(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """nginx (TLS) → two `svp serve --no-bot` workers, and `svp bot` in webhook mode."""
    data_dir = tmp_path_factory.mktemp("stack")
    with ExitStack() as stack, running(TOKEN) as api:
        site_prefix = data_dir / "nginx"
        env = clean_environment(
            SVP_DATA_DIR=str(data_dir / "var"), SVP_DATABASE_URL=postgres_database,
            SVP_TELEGRAM_TOKEN=TOKEN, SVP_TELEGRAM_API_URL=api.url,
            SVP_TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET, SVP_TRUSTED_PROXIES="127.0.0.1",
            SVP_SECURE_COOKIES="true", SVP_METRICS_TOKEN=METRICS_TOKEN,
            SVP_API_RATE_PER_MINUTE=str(RATE_PER_MINUTE), SVP_OUTBOX_INTERVAL_SECONDS="0.5")
        _svp(env, data_dir, "init")
        _svp(env, data_dir, "user", "add", "claire", "--role", "admin", "--password-stdin",
             stdin=PASSWORD + "\n")
        read_token = _svp(env, data_dir, "api", "token", "create", "lecture").splitlines()[-1]
        write_token = _svp(env, data_dir, "api", "token", "create", "ecriture", "--scope",
                           "write").splitlines()[-1]
        ports = [free_port(), free_port()]
        upstream = "; server ".join(f"127.0.0.1:{port}" for port in ports)
        site = render_site(site_prefix, upstream=upstream, static_dir=STATIC_DIR)
        # Workers and bot alike: the webhook is served by the workers, registered by the bot.
        env["SVP_TELEGRAM_WEBHOOK_URL"] = (
            f"https://127.0.0.1:{site.https_port}/telegram/webhook")
        workers = [_serve(stack, env, data_dir, f"web-{number}", port=port)[0]
                   for number, port in enumerate(ports, start=1)]
        stack.enter_context(running_nginx(site))
        bot_log = data_dir / "bot.log"
        bot = stack.enter_context(_process([str(SVP), "bot"], env, data_dir, bot_log))
        deadline = time.monotonic() + START_SECONDS
        while "setWebhook" not in api.methods:
            if bot.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"svp bot did not register the webhook:\n{bot_log.read_text()}")
            time.sleep(0.2)
        yield Stack(site=site, workers=workers, database_url=postgres_database, env=env,
                    data_dir=data_dir, api=api, read_token=read_token, write_token=write_token)


def test_login_through_the_proxy_with_secure_cookies(stack: Stack) -> None:
    with stack.client() as client:
        assert client.get(f"http://127.0.0.1:{stack.site.http_port}/login").status_code == 301
        page = client.get(f"{stack.https}/login")
        assert page.status_code == 200
        assert "secure" in page.headers["set-cookie"].lower()
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        answer = client.post(f"{stack.https}/login", data={
            "csrf_token": csrf, "login": "claire", "password": PASSWORD, "next": "/queue"})
        assert answer.status_code == 303, answer.text
        cookies = answer.headers.get_list("set-cookie")
        assert cookies and all("secure" in cookie.lower() for cookie in cookies)
        # Both workers know the session: it lives in the database.
        pages = [client.get(f"{stack.https}/queue").status_code for _ in range(4)]
        assert pages == [200, 200, 200, 200]


def test_the_client_address_comes_from_the_trusted_proxy_only(stack: Stack) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9"}
    for source, base in (("127.0.0.3", stack.https), ("127.0.0.2", stack.workers[0])):
        with stack.client(source=source) as client:
            page = client.get(f"{base}/login")
            csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            # The login cookie is Secure: over plain HTTP (straight to a worker) it is sent
            # by hand, as a client on the server's own network could.
            cookie = page.headers["set-cookie"].split(";", 1)[0]
            answer = client.post(f"{base}/login", headers={**forged, "Cookie": cookie}, data={
                "csrf_token": csrf, "login": f"inconnu-{source}", "password": "faux"})
            assert answer.status_code == 401  # the login page again, with its error
    seen = {stack.scalar("SELECT ip FROM login_attempts WHERE login = :login",
                         login=f"inconnu-{source}") for source in ("127.0.0.3", "127.0.0.2")}
    # Through nginx (trusted): the client nginx saw, not the forged header it passed along.
    # Straight to a worker from an untrusted address: the header is ignored.
    assert seen == {"127.0.0.3", "127.0.0.2"}


def test_a_webhook_update_through_the_proxy_is_stored_once_and_answered_once(
        stack: Stack) -> None:
    chat = 424242
    update = {"update_id": 9001, "message": {
        "message_id": 1, "date": int(time.time()), "text": "/start",
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Inès"}}}
    with stack.client() as client:
        refused = client.post(f"{stack.https}/telegram/webhook", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": "faux"})
        assert refused.status_code == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        # Telegram delivers again when unsure: both workers get it once.
        statuses = [client.post(f"{stack.https}/telegram/webhook", json=update,
                                headers=headers).status_code for _ in range(2)]
    assert statuses == [200, 200]
    deadline = time.monotonic() + 30
    while not stack.api.texts(chat) and time.monotonic() < deadline:
        time.sleep(0.2)
    replies = stack.api.texts(chat)
    assert replies, "the bot process never answered the update the web workers stored"
    time.sleep(3)  # a second processing would have answered by now
    assert stack.api.texts(chat) == replies
    assert stack.scalar("SELECT count(*) FROM inbox_updates WHERE update_id = 9001") == 1
    assert stack.scalar(
        "SELECT count(*) FROM inbox_updates WHERE update_id = 9001 AND processed_at IS NOT NULL"
    ) == 1


def test_an_entry_published_on_one_worker_is_found_by_the_other_within_a_second(
        stack: Stack) -> None:
    write = {"Authorization": f"Bearer {stack.write_token}"}
    first, second = stack.workers
    with stack.client() as client:
        for worker in (first, second):  # load each worker's model before timing anything
            assert client.get(f"{worker}/api/v1/search", params={"q": "loyer"},
                              headers=write).status_code == 200
        question = "Un organisme peut-il louer une place de parking à un non-locataire ?"
        created = client.post(f"{first}/api/v1/entries", headers=write, json={
            "question": question,
            "answer": "Oui, les places vacantes peuvent être louées à des tiers.",
            "theme": "Gestion locative et charges"})
        assert created.status_code == 201, created.text
        entry_id = created.json()["id"]
        published = time.monotonic()
        while True:
            hits = client.get(f"{second}/api/v1/search", params={"q": question, "k": 1},
                              headers=write).json()["hits"]
            if hits and hits[0]["entry_id"] == entry_id:
                break
            assert time.monotonic() - published < 1.0, "not found by the other worker in 1 s"
    assert time.monotonic() - published < 1.0


def test_the_api_rate_limit_holds_across_both_workers(stack: Stack) -> None:
    read = {"Authorization": f"Bearer {stack.read_token}"}
    with stack.client() as client:
        statuses = [client.get(f"{stack.workers[number % 2]}/api/v1/entries",
                               headers=read).status_code for number in range(RATE_PER_MINUTE + 1)]
        through_proxy = client.get(f"{stack.https}/api/v1/entries", headers=read)
    assert Counter(statuses) == {200: RATE_PER_MINUTE, 429: 1} and statuses[-1] == 429
    assert through_proxy.status_code == 429 and int(through_proxy.headers["retry-after"]) >= 1


def _spawned_workers(parent: int) -> set[int]:
    """The uvicorn worker processes of a `svp serve --workers N` (children of the parent)."""
    found = set()
    for path in Path("/proc").iterdir():
        if not path.name.isdigit():
            continue
        try:
            status = (path / "status").read_text()
            command = (path / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(status.split("PPid:", 1)[1].split()[0])
        if ppid == parent and b"spawn_main" in command:
            found.add(int(path.name))
    return found


def test_a_killed_worker_is_replaced_and_the_others_keep_serving(
        stack: Stack, tmp_path: Path) -> None:
    env = {key: value for key, value in stack.env.items() if key != "SVP_TELEGRAM_WEBHOOK_URL"}
    with ExitStack() as processes:
        address, serve = _serve(processes, env, tmp_path, "workers", "--workers", "2")
        site = render_site(tmp_path / "nginx", upstream=address.removeprefix("http://"),
                           static_dir=STATIC_DIR)
        processes.enter_context(running_nginx(site))
        deadline = time.monotonic() + START_SECONDS
        while len(before := _spawned_workers(serve.pid)) < 2:
            assert time.monotonic() < deadline, "svp serve --workers 2 has not 2 workers"
            time.sleep(0.2)
        statuses: Counter[int] = Counter()
        dropped: Counter[str] = Counter()
        lock = threading.Lock()
        stop_at = time.monotonic() + 12
        threads = 4

        def load() -> None:
            with stack.client(site=site) as client:
                while time.monotonic() < stop_at:
                    try:
                        status = client.get(f"https://127.0.0.1:{site.https_port}/login"
                                            ).status_code
                    except httpx.TransportError as error:
                        # A connection nginx drops at the kill (a keep-alive one that was
                        # closing, a response cut short) is a request in flight like a 502.
                        with lock:
                            dropped[type(error).__name__] += 1
                        continue
                    with lock:
                        statuses[status] += 1

        loaders = [threading.Thread(target=load) for _ in range(threads)]
        for thread in loaders:
            thread.start()
        time.sleep(3)
        victim = min(before)
        subprocess.run(["kill", "-9", str(victim)], check=True)
        killed_at = time.monotonic()
        while True:
            after = _spawned_workers(serve.pid)
            if len(after) == 2 and victim not in after:
                break
            assert time.monotonic() - killed_at < 30, "the killed worker was not replaced"
            time.sleep(0.1)
        replaced_in = time.monotonic() - killed_at
        for thread in loaders:
            thread.join()
        with stack.client(site=site) as client:
            final = [client.get(f"https://127.0.0.1:{site.https_port}/login").status_code
                     for _ in range(10)]
    # Only requests in flight on the killed worker may fail (one per loader at most): a 502, or
    # a connection dropped at that moment.
    assert set(statuses) <= {200, 502}, statuses
    assert statuses[502] + dropped.total() <= threads, (statuses, dropped)
    assert statuses[200] > 50, statuses
    assert final == [200] * 10
    assert replaced_in < 30
