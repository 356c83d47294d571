"""python-telegram-bot persistence in the SVP database: registration steps and drafts only.

`bot.intake` asks the application to write them after each update (before the update is marked
processed), so a crash loses at most the step of the update being processed, which is then
replayed. Bot-wide and chat data are never stored: the bot keeps nothing else in them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from knowledge.desk import conversations
from knowledge.runtime import Knowledge

logger = logging.getLogger(__name__)

UserData = dict[Any, Any]


class DatabasePersistence(BasePersistence[UserData, dict[Any, Any], dict[Any, Any]]):
    """Conversation steps and user data kept in the database; the rest is not stored."""

    def __init__(self, knowledge: Knowledge, *, step_timeout: timedelta) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False,
                                                     user_data=True, callback_data=False),
                         update_interval=60)
        self.knowledge = knowledge
        self.step_timeout = step_timeout
        # Users with a stored row: python-telegram-bot hands over every user's (usually empty)
        # data after each update, and an empty one without a row needs no write.
        self._stored_users: set[int] = set()

    async def get_user_data(self) -> dict[int, UserData]:
        """Every stored user's data."""
        def load() -> dict[int, UserData]:
            with self.knowledge.session() as session:
                return conversations.load_user_data(session=session, max_age=self.step_timeout)
        data = await asyncio.to_thread(load)
        self._stored_users = set(data)
        return data

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        """Store one user's data (nothing to do for empty data never stored)."""
        # A finished registration leaves an empty draft behind: nothing worth a row.
        data = {key: value for key, value in data.items() if value not in (None, "", {}, [])}
        if not data and user_id not in self._stored_users:
            return

        def save() -> None:
            with self.knowledge.session() as session:
                conversations.save_user_data(session=session, user_id=user_id, data=data)
        await asyncio.to_thread(save)
        if data:
            self._stored_users.add(user_id)
        else:
            self._stored_users.discard(user_id)

    async def drop_user_data(self, user_id: int) -> None:
        """Forget one user's data."""
        await self.update_user_data(user_id, {})

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def get_conversations(self, name: str) -> ConversationDict:
        """The steps of a conversation that have not timed out."""
        def load() -> dict[Any, object]:
            with self.knowledge.session() as session:
                return dict(conversations.load_states(session=session, name=name,
                                                      max_age=self.step_timeout))
        return await asyncio.to_thread(load)

    async def update_conversation(self, name: str, key: ConversationKey,
                                  new_state: object | None) -> None:
        """Store a conversation's new step (None: it ended)."""
        state = new_state if isinstance(new_state, int) and new_state >= 0 else None

        def save() -> None:
            with self.knowledge.session() as session:
                conversations.save_state(session=session, name=name, key=key, state=state)
        await asyncio.to_thread(save)

    # Bot-wide data, chat data and callback data are not stored (store_data says so).
    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Not stored."""
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def get_bot_data(self) -> dict[Any, Any]:
        """Not stored."""
        return {}

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def get_callback_data(self) -> CDCData | None:
        """Not stored."""
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        """Not stored."""

    async def flush(self) -> None:
        """Every write is already committed."""
