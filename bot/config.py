"""Settings of the bot as one plain object (built from `svp.settings` by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.desk.attachments import AttachmentLimits
from knowledge.people.retention import RetentionPolicy

DEFAULT_API_URL = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class BotConfig:
    """What the bot needs to run; the token is appended to `api_url` (PTB `base_url` form)."""

    token: str
    api_url: str = DEFAULT_API_URL
    webhook_url: str | None = None
    webhook_secret: str | None = None
    rate_limit_per_minute: int = 5
    rate_limit_per_day: int = 30
    outbox_interval_seconds: float = 2.0
    suggestions_shown: int = 3
    admin_base_url: str = "http://127.0.0.1:8000"
    # The members' help centre (« https://svp.example.org/aide »); None when it is not served.
    help_centre_url: str | None = None
    inbox_retention_days: int = 30
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    attachment_limits: AttachmentLimits = field(default_factory=AttachmentLimits)

    @property
    def file_url(self) -> str:
        """Where files are downloaded from: Telegram's, or a local Bot API server's /file/bot."""
        if self.api_url.rstrip("/").endswith("/bot"):
            return self.api_url.rstrip("/")[:-len("/bot")] + "/file/bot"
        return "https://api.telegram.org/file/bot"

    @property
    def shown(self) -> int:
        """How many suggestions to show: the setting, kept between 0 and 3."""
        return max(0, min(self.suggestions_shown, 3))

    def __repr__(self) -> str:  # never print the token in logs or tracebacks
        return (f"BotConfig(api_url={self.api_url!r}, webhook_url={self.webhook_url!r}, "
                f"rate_limit_per_minute={self.rate_limit_per_minute}, "
                f"rate_limit_per_day={self.rate_limit_per_day})")
