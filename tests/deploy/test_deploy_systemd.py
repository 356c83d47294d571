"""The shipped systemd units: accepted by systemd as written, hardened, run as the svp user."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from deploy_helpers import UNITS_DIR, assert_verified, rendered_units, verify_units

SERVICES = ["svp-web.service", "svp-bot.service", "svp-mail.service", "svp-backup.service",
            "svp-retention.service", "svp-veille.service"]
TIMERS = {"svp-backup.timer": "svp-backup.service",
          "svp-retention.timer": "svp-retention.service",
          "svp-veille.timer": "svp-veille.service"}
HARDENING = {"ProtectSystem": "strict", "ProtectHome": "true", "NoNewPrivileges": "true",
             "PrivateTmp": "true", "PrivateDevices": "true", "ReadWritePaths": "/var/lib/svp",
             "ProtectKernelTunables": "true", "ProtectControlGroups": "true",
             "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "LockPersonality": "true"}


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS_DIR / name).read_text(encoding="utf-8"))
    return parser


def test_systemd_accepts_every_shipped_unit_without_a_warning(tmp_path: Path) -> None:
    assert sorted(p.name for p in UNITS_DIR.iterdir()) == sorted([*SERVICES, *TIMERS])
    assert_verified(verify_units(rendered_units(tmp_path)))


@pytest.mark.parametrize(("unit", "old", "new"), [
    ("svp-backup.service", "Restart=on-failure", "Restart=always"),  # refused for a oneshot
    ("svp-web.service", "ProtectSystem=strict", "ProtectSystm=strict"),  # ignored line
    ("svp-backup.timer", "OnCalendar=*-*-* 02:30:00", "OnCalendar=chaque nuit"),
])
def test_a_broken_unit_fails_the_same_check(tmp_path: Path, unit: str, old: str,
                                            new: str) -> None:
    result = verify_units(rendered_units(tmp_path, edit={unit: (old, new)}))
    assert result.returncode != 0 or result.stderr.strip()


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_as_svp_with_the_env_file_and_a_read_only_system(name: str) -> None:
    service = _unit(name)["Service"]
    assert service["User"] == "svp" and service["Group"] == "svp"
    assert service["EnvironmentFile"] == "/etc/svp/svp.env"
    assert service["WorkingDirectory"] == "/var/lib/svp"
    assert service["ExecStart"].startswith("/opt/svp/venv/bin/svp ")
    assert service["Restart"] == "on-failure"
    assert {key: service.get(key) for key in HARDENING} == HARDENING
    assert "StandardOutput" not in service  # logs go to the journal


def test_web_runs_the_configured_workers_without_the_bot_behind_postgresql() -> None:
    web = _unit("svp-web.service")
    assert web["Service"]["ExecStart"] == ("/opt/svp/venv/bin/svp serve --host 127.0.0.1 "
                                           "--port 8000 --workers ${SVP_WEB_WORKERS} --no-bot "
                                           "--no-mail")
    for name in ("svp-web.service", "svp-bot.service", "svp-mail.service"):
        unit = _unit(name)["Unit"]
        assert "network-online.target" in unit["After"] and "postgresql.service" in unit["After"]
        assert "network-online.target" in unit["Wants"] and "postgresql.service" in unit["Wants"]


def test_bot_starts_only_when_the_env_file_has_a_telegram_token() -> None:
    service = _unit("svp-bot.service")["Service"]
    assert service["ExecStart"] == "/opt/svp/venv/bin/svp bot"
    assert "SVP_TELEGRAM_TOKEN" in service["ExecCondition"]


def test_the_mail_worker_starts_only_when_the_env_file_names_an_smtp_server() -> None:
    service = _unit("svp-mail.service")["Service"]
    assert service["ExecStart"] == "/opt/svp/venv/bin/svp mail"
    assert "SVP_MAIL_SMTP_HOST" in service["ExecCondition"]


@pytest.mark.parametrize(("timer", "service"), sorted(TIMERS.items()))
def test_timers_run_their_job_daily_and_catch_up_after_downtime(timer: str,
                                                                service: str) -> None:
    section = _unit(timer)["Timer"]
    assert section["Unit"] == service and section["Persistent"] == "true"
    assert section["OnCalendar"].startswith("*-*-* ") and section["RandomizedDelaySec"]
    assert _unit(service)["Service"]["Type"] == "oneshot"
    assert _unit(timer)["Install"]["WantedBy"] == "timers.target"
