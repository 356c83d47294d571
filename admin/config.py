"""Settings of the web admin, as a plain dataclass built by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.desk.attachments import AttachmentLimits
from knowledge.errors import Conflict
from knowledge.people.retention import RetentionPolicy
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.people.throttle import LoginLimits

# Sends one automatic plain-text email at once (to, subject, body); raises OSError or
# smtplib.SMTPException when the server refuses. Built by the composition root from `mail/`.
SendMail = Callable[[str, str, str], None]


@dataclass(frozen=True)
class HelpConfig:
    """The members' help centre under /aide."""

    enabled: bool = True
    # Read-only pages (search, themes, entries) open to anyone, for a public FAQ.
    anonymous_reading: bool = False
    # None: no sign-in link can be sent (the page says so).
    send_mail: SendMail | None = None
    # The bot's limits on questions, per asker: the same on the web.
    questions_per_minute: int = 5
    questions_per_day: int = 30


@dataclass(frozen=True)
class AdminConfig:
    """What the web admin needs to know; `svp` builds it from the settings."""

    secure_cookies: bool = False
    session_hours: int = 12
    # A session unused this long ends (ASVS 7.3.1); 0 turns the inactivity timeout off.
    session_idle_minutes: int = 30
    # Who must log in with a second factor (TOTP): "none", "admins" or "all"; those without
    # one are sent to enrol before anything else.
    second_factor_required: str = "none"

    def second_factor_mandatory(self, role: str) -> bool:
        """Whether an account of this role must use a second factor."""
        return self.second_factor_required == "all" or (
            self.second_factor_required == "admins" and role == "admin")
    target_delay_days: int = 5
    duplicate_threshold: float = 0.93
    suggestions_shown: int = 5
    base_url: str = "http://127.0.0.1:8000"
    # Appended to every answer sent; {prénom} and {nom} are the adviser's.
    answer_signature: str = "— {prénom}, SVP de l'AR Hlm"
    # The bot's @username (without @), for the t.me links of invite codes.
    bot_username: str | None = None
    # Bearer token a Prometheus scraper may present on /metrics; None: only logged-in users.
    metrics_token: str | None = None
    review_months: int = 12  # default period before an entry must be checked again
    api_rate_per_minute: int = 120  # calls per API token and minute (in this process)
    # Folder of the backup archives, whose newest one /metrics reports; None: not reported.
    backup_dir: Path | None = None
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # Seals the TOTP secrets at rest. No default key on purpose: a key drawn here would be
    # lost at the next start, and every second factor with it.
    secret_sealer: SecretSealer | None = None
    help: HelpConfig = field(default_factory=HelpConfig)
    # Files advisers attach to answers (SVP_ATTACHMENT_MAX_MB, SVP_ATTACHMENT_MESSAGE_MAX_MB).
    attachment_limits: AttachmentLimits = field(default_factory=AttachmentLimits)

    def sealer(self) -> SecretSealer:
        """The sealer of TOTP secrets; refuse the second factor when none was configured."""
        if self.secret_sealer is None:
            raise Conflict("La double authentification n'est pas disponible : aucune clé de "
                           "chiffrement des secrets n'est configurée sur ce serveur.")
        return self.secret_sealer
