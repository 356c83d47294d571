"""Bot fixtures: the real Application over a recording Bot API transport, a real knowledge base."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.application import build_application
from bot.config import BotConfig
from index.embedders import Embedder
from knowledge.catalog.entries import EntryFields, create
from knowledge.people import askers, organisations
from knowledge.runtime import Knowledge
from knowledge.store.db import make_engine

BOT_ID = 777000
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "SVP", "username": "svp_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
TOKEN = "123456789:" + "A" * 35


@dataclass
class Call:
    """One Bot API call seen by the transport."""

    method: str
    params: dict[str, Any]
    ok: bool
    files: dict[str, bytes] = field(default_factory=dict)  # uploaded files by name


class RecordingRequest(BaseRequest):
    """A Bot API transport that records every call and answers with canned JSON.

    `plan(method, outcome, ...)` makes the next calls of a method fail: an exception instance
    is raised (TimedOut, NetworkError), a `(status, body)` pair is returned as the HTTP answer,
    None lets that call succeed.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.planned: dict[str, list[Any]] = {}
        self.next_message_id = 5000
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_unique_id, bytes)
        self.downloads: list[str] = []  # file paths downloaded, in order

    def serve_file(self, file_id: str, data: bytes, unique_id: str | None = None) -> None:
        """Make a file known to getFile and downloadable, as Telegram keeps it."""
        self.files[file_id] = (unique_id or f"u-{file_id}", data)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def plan(self, method: str, *outcomes: Any) -> None:
        """Queue outcomes for the next calls of a method."""
        self.planned.setdefault(method, []).extend(outcomes)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None
                         ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # a download: the bytes of a file getFile described
            file_id = url.rsplit("/", 1)[-1]
            self.downloads.append(file_id)
            if file_id not in self.files:
                return 404, b"Not Found"
            return 200, self.files[file_id][1]
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if name == "getFile" and str(params.get("file_id")) not in self.files:
            self.calls.append(Call(name, params, ok=False))
            return 400, json.dumps({"ok": False, "error_code": 400,
                                    "description": "Bad Request: invalid file_id"}).encode()
        planned = self.planned.get(name)
        outcome = planned.pop(0) if planned else None
        if outcome is not None:
            self.calls.append(Call(name, params, ok=False))
            if isinstance(outcome, BaseException):
                raise outcome
            status, body = outcome
            return status, json.dumps(body).encode()
        files = {}
        if request_data is not None and request_data.contains_files:
            files = {str(upload[0]): upload[1]
                     for upload in (request_data.multipart_data or {}).values()}
        self.calls.append(Call(name, params, ok=True, files=files))
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name in ("sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup"):
            if name in ("sendMessage", "sendDocument"):
                self.next_message_id += 1
                message_id = self.next_message_id
            else:
                message_id = int(params.get("message_id", 1))
            chat_id = int(params.get("chat_id", 1))
            return {"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                    "from": BOT_USER, "text": str(params.get("text", ""))}
        if name == "getUpdates":
            return []
        if name == "getFile":
            file_id = str(params["file_id"])
            unique_id, data = self.files[file_id]
            return {"file_id": file_id, "file_unique_id": unique_id, "file_size": len(data),
                    "file_path": f"documents/{file_id}"}
        return True

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """The sendMessage calls Telegram accepted (to one chat, if given)."""
        return [call for call in self.calls if call.method == "sendMessage" and call.ok
                and (chat_id is None or int(call.params["chat_id"]) == chat_id)]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The texts of accepted sendMessage calls."""
        return [str(call.params["text"]) for call in self.sent(chat_id)]

    def last_markup(self, chat_id: int) -> dict[str, Any]:
        """The reply markup of the last accepted message to a chat."""
        markup = self.sent(chat_id)[-1].params.get("reply_markup") or {}
        return markup if isinstance(markup, dict) else json.loads(markup)


@dataclass
class Person:
    """A Telegram user talking to the bot in a private chat."""

    id: int
    first_name: str = "Marie"
    last_name: str | None = "Durand"
    username: str | None = "mdurand"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class BotHarness:
    """The real Application, its transport and knowledge base, with update builders."""

    application: Application[Any, Any, Any, Any, Any, Any]
    transport: RecordingRequest
    knowledge: Knowledge
    config: BotConfig
    errors: list[BaseException] = field(default_factory=list)
    _update_id: int = 0
    _message_id: int = 100

    def _ids(self) -> tuple[int, int]:
        self._update_id += 1
        self._message_id += 1
        return self._update_id, self._message_id

    def message(self, person: Person, text: str | None = None, *,
                chat: dict[str, Any] | None = None, reply_to: int | None = None,
                extra: dict[str, Any] | None = None, edited: bool = False) -> dict[str, Any]:
        """A message update payload (text, or anything passed in `extra`)."""
        update_id, message_id = self._ids()
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()),
            "chat": chat or {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": person.as_json(),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to, "date": int(time.time()), "from": BOT_USER,
                "chat": message["chat"], "text": "…"}
        if edited:
            message["edit_date"] = int(time.time())
        message.update(extra or {})
        return {"update_id": update_id, ("edited_message" if edited else "message"): message}

    def document(self, person: Person, data: bytes, *, file_name: str = "courrier.pdf",
                 caption: str | None = None, mime_type: str = "application/pdf",
                 reply_to: int | None = None, file_id: str | None = None,
                 unique_id: str | None = None) -> dict[str, Any]:
        """A message update carrying a document Telegram keeps (served to getFile)."""
        file_id = file_id or f"doc{self._update_id + 1}"
        unique_id = unique_id or f"u-{file_id}"
        self.transport.serve_file(file_id, data, unique_id)
        extra: dict[str, Any] = {"document": {"file_id": file_id, "file_unique_id": unique_id,
                                              "file_name": file_name, "mime_type": mime_type,
                                              "file_size": len(data)}}
        if caption is not None:
            extra["caption"] = caption
        return self.message(person, None, reply_to=reply_to, extra=extra)

    def photo(self, person: Person, data: bytes, *, caption: str | None = None
              ) -> dict[str, Any]:
        """A message update carrying a photo in two sizes (the larger is the one to keep)."""
        big, small = f"ph{self._update_id + 1}", f"th{self._update_id + 1}"
        self.transport.serve_file(big, data)
        self.transport.serve_file(small, data[:10])
        extra: dict[str, Any] = {"photo": [
            {"file_id": small, "file_unique_id": f"u-{small}", "width": 90, "height": 90,
             "file_size": 10},
            {"file_id": big, "file_unique_id": f"u-{big}", "width": 800, "height": 800,
             "file_size": len(data)}]}
        if caption is not None:
            extra["caption"] = caption
        return self.message(person, None, extra=extra)

    def press(self, person: Person, data: str, *, message_id: int = 1,
              markup: dict[str, Any] | None = None) -> dict[str, Any]:
        """A callback query payload: the person presses an inline button (of `markup`)."""
        update_id, _ = self._ids()
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "from": BOT_USER, "text": "…",
                                   "chat": {"id": person.id, "type": "private"}}
        if markup is not None:
            message["reply_markup"] = markup
        return {"update_id": update_id, "callback_query": {
            "id": f"cb{update_id}", "from": person.as_json(), "chat_instance": "ci",
            "data": data, "message": message}}

    async def feed(self, payload: dict[str, Any]) -> None:
        """Process one update payload as Telegram would deliver it."""
        update = Update.de_json(payload, self.application.bot)
        await self.application.process_update(update)

    async def say(self, person: Person, text: str, **kwargs: Any) -> list[str]:
        """Send a text and return the texts the bot sent back to that chat."""
        before = len(self.transport.texts(person.id))
        await self.feed(self.message(person, text, **kwargs))
        return self.transport.texts(person.id)[before:]

    async def click(self, person: Person, data: str, *, message_id: int = 1,
                    markup: dict[str, Any] | None = None) -> list[str]:
        """Press a button and return the texts the bot sent back to that chat."""
        before = len(self.transport.texts(person.id))
        await self.feed(self.press(person, data, message_id=message_id, markup=markup))
        return self.transport.texts(person.id)[before:]

    # --- world builders ------------------------------------------------------------------

    def organisation(self, name: str = "Habitat Test 13") -> int:
        """Create an active organisation and return its id."""
        with self.knowledge.session() as session:
            return organisations.create(session=session, name=name,
                                        kind=organisations.parse_kind("oph"),
                                        departement="13", actor="test").id

    def invite_code(self, organisation_id: int) -> str:
        """Give an organisation an invite code."""
        with self.knowledge.session() as session:
            return organisations.new_invite_code(session=session,
                                                 organisation_id=organisation_id, actor="test")

    def approved_asker(self, person: Person, organisation_name: str = "Habitat Test 13") -> int:
        """Register and approve a person; return the asker id."""
        with self.knowledge.session() as session:
            found = organisations.find_by_name(session=session, name=organisation_name)
            org_id = found.id if found else organisations.create(
                session=session, name=organisation_name, kind=organisations.parse_kind("oph"),
                departement="13", actor="test").id
            asker = askers.register_pending(
                session=session, telegram_user_id=person.id, chat_id=person.id,
                telegram_username=person.username, full_name="Marie Durand",
                email="marie.durand@habitat13.fr", organisation_id=org_id)
            askers.approve(session=session, asker_id=asker.id, actor="test")
            asker_id = asker.id
        # The "inscription validée" message is not what these tests look at.
        with self.knowledge.session() as session:
            from knowledge.store.models import Outbox

            session.query(Outbox).filter(Outbox.asker_id == asker_id).delete()
        return asker_id

    def entry(self, question: str, answer: str, source: str | None = None) -> int:
        """Create a validated knowledge entry with its embedding; return its id."""
        with self.knowledge.session() as session:
            return create(session=session, content=EntryFields(question=question, answer=answer,
                                                               source=source),
                          actor="test", embedder=self.knowledge.embedder).id


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def bot_embedder(e5_embedder: Embedder) -> Embedder:
    """The real multilingual-e5-small 4-bit embedder of the worker."""
    return e5_embedder


@pytest.fixture
def bot_knowledge(database_url: str, tmp_path: Path, bot_embedder: Embedder
                  ) -> Iterator[Knowledge]:
    """A real knowledge base on the test database, with the real embedder."""
    knowledge = Knowledge(engine=make_engine(database_url), embedder_factory=lambda: bot_embedder,
                          index_dir=tmp_path / "index")
    yield knowledge
    knowledge.close()


@pytest.fixture
def bot_config() -> BotConfig:
    """Bot settings as deployed by default (5 questions a minute, 30 a day, help centre on)."""
    return BotConfig(token=TOKEN, api_url="http://127.0.0.1:9/bot",
                     admin_base_url="https://svp.example.org",
                     help_centre_url="https://svp.example.org/aide")


@pytest.fixture
async def harness(bot_knowledge: Knowledge, bot_config: BotConfig
                  ) -> AsyncIterator[BotHarness]:
    """The real bot Application, initialised over a recording transport."""
    transport = RecordingRequest()
    application = build_application(knowledge=bot_knowledge, config=bot_config,
                                    request=transport, get_updates_request=RecordingRequest())
    harness = BotHarness(application=application, transport=transport, knowledge=bot_knowledge,
                         config=bot_config)

    async def remember(update: object, context: Any) -> None:
        harness.errors.append(context.error)

    application.add_error_handler(remember)
    await application.initialize()
    yield harness
    await application.shutdown()
