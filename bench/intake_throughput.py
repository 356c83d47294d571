"""Intake throughput: questions per second stored and answered with suggestions, end to end.

The real bot (`build_application` + `bot.runner.start`, polling) runs in this process against a
local stand-in Bot API (HTTP, Telegram's offset rules) on a migrated SQLite file holding the
demo knowledge base. N questions from 20 approved askers wait in the stand-in; the clock runs
from the moment they are queued until every receipt ("enregistrée sous le n° …") has reached it.

    .venv/bin/python bench/intake_throughput.py --questions 200 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchlib import devset_queries, median, print_machine, print_table

TOKEN = "123456789:" + "A" * 35
BOT_USER = {"id": 777000, "is_bot": True, "first_name": "SVP", "username": "svp_bench_bot"}
ASKERS = 20
FIRST_CHAT = 700_000


class StandInBotApi:
    """getUpdates with Telegram's offset rule (updates below the offset are forgotten)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.next_message_id = 1
        self.receipts = 0

    def push(self, chat: int, text: str) -> None:
        with self.lock:
            update_id = self.next_update_id
            self.next_update_id += 1
            self.updates.append({"update_id": update_id, "message": {
                "message_id": 10_000 + update_id, "date": int(time.time()), "text": text,
                "chat": {"id": chat, "type": "private", "first_name": "A"},
                "from": {"id": chat, "is_bot": False, "first_name": "A"}}})

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            if method == "getMe":
                return BOT_USER
            if method == "getUpdates":
                offset = int(params.get("offset") or 0)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                return self.updates[:int(params.get("limit") or 100)]
            if method == "sendMessage":
                self.next_message_id += 1
                if "enregistrée sous le" in str(params.get("text", "")):
                    self.receipts += 1
                return {"message_id": self.next_message_id, "date": int(time.time()),
                        "chat": {"id": int(params["chat_id"]), "type": "private"},
                        "from": BOT_USER, "text": params.get("text", "")}
            return True


def serve(api: StandInBotApi) -> tuple[ThreadingHTTPServer, str]:
    """Run the stand-in Bot API on a free local port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params = json.loads(body or "{}") if "json" in (
                self.headers.get("Content-Type") or "") else {}
            if not params and body:
                from urllib.parse import parse_qs

                params = {key: values[0] for key, values in parse_qs(body).items()}
            method = self.path.rsplit("/", 1)[-1]
            result = api.answer(method, params)
            if method == "getUpdates" and not result:
                time.sleep(0.05)
            data = json.dumps({"ok": True, "result": result}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the bot went away mid-poll (end of the run)
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/bot"


def prepare(directory: Path) -> Any:
    """A migrated SQLite knowledge base with the demo entries and 20 approved askers."""
    from knowledge.people import askers, organisations
    from svp import demo
    from svp.runtime import build_knowledge
    from svp.settings import Settings

    settings = Settings(data_dir=directory)
    knowledge = build_knowledge(settings)
    from knowledge.store import migrate

    migrate.upgrade(knowledge.engine)
    demo.create_demo(knowledge)
    with knowledge.session() as session:
        org = organisations.create(session=session, name="Banc d'essai", actor="bench",
                                   kind=organisations.parse_kind("oph"), departement="13")
        for number in range(ASKERS):
            asker = askers.register_pending(
                session=session, telegram_user_id=FIRST_CHAT + number,
                chat_id=FIRST_CHAT + number, telegram_username=None,
                full_name=f"Demandeur {number}", email=f"d{number}@example.org",
                organisation_id=org.id)
            askers.approve(session=session, asker_id=asker.id, actor="bench")
    return knowledge


async def wait_receipts(api: StandInBotApi, count: int, timeout: float = 600.0) -> None:
    """Wait until `count` receipts in all have reached the stand-in."""
    deadline = time.monotonic() + timeout
    while api.receipts < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {api.receipts} receipts of {count} after {timeout} s")
        await asyncio.sleep(0.01)


async def run(questions: int, rounds: int) -> list[tuple[int, float, float]]:
    """Measure `rounds` backlogs of `questions`; return (questions, seconds, CPU seconds)."""
    from bot import runner
    from bot.application import build_application
    from bot.config import BotConfig

    queries = devset_queries()
    api = StandInBotApi()
    server, url = serve(api)
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = prepare(Path(tmp))
        config = BotConfig(token=TOKEN, api_url=url, rate_limit_per_minute=1_000_000,
                           rate_limit_per_day=1_000_000, outbox_interval_seconds=2.0)
        application = build_application(knowledge=knowledge, config=config)
        await runner.start(application, webhook_url=None, secret=None)
        results = []
        try:
            api.push(FIRST_CHAT, queries[0])  # warm-up: model, index, connections
            await wait_receipts(api, 1)
            expected = 1
            for _ in range(rounds):
                started, cpu = time.perf_counter(), time.process_time()
                for number in range(questions):
                    api.push(FIRST_CHAT + number % ASKERS, queries[number % len(queries)])
                expected += questions
                await wait_receipts(api, expected)
                results.append((questions, time.perf_counter() - started,
                                time.process_time() - cpu))
        finally:
            await runner.stop(application)
            knowledge.close()
            server.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(run(args.questions, args.rounds))
    print_machine()
    print()
    print_table(["manche", "questions", "durée (s)", "questions/s", "CPU (s)"],
                [[index, count, f"{seconds:.2f}", f"{count / seconds:.1f}", f"{cpu:.2f}"]
                 for index, (count, seconds, cpu) in enumerate(results, start=1)])
    rates = [count / seconds for count, seconds, _ in results]
    print(f"\nmédiane : {median(rates):.1f} questions/s")


if __name__ == "__main__":
    sys.exit(main())
