"""Settings of the help centre and its mail (issue 23): read from SVP_*, refused in one line."""

from __future__ import annotations

import pytest

from knowledge.people.sealed_secrets import SecretSealer
from svp.cli.web import admin_config
from svp.mailwiring import mail_settings
from svp.settings import SettingsError, load_settings

SEALER = SecretSealer(["k" * 43])


def test_the_mail_server_and_help_centre_come_from_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SVP_MAIL_SMTP_HOST": "smtp.arhlm.example",
                        "SVP_MAIL_SMTP_PORT": "465", "SVP_MAIL_SMTP_SECURITY": "tls",
                        "SVP_MAIL_SMTP_USER": "svp", "SVP_MAIL_SMTP_PASSWORD": "secret",
                        "SVP_MAIL_FROM": "SVP <svp@arhlm.example>",
                        "SVP_HELP_ANONYMOUS_READING": "true"}.items():
        monkeypatch.setenv(name, value)
    current = load_settings()
    config = admin_config(current, sealer=SEALER)
    assert config.help.enabled and config.help.anonymous_reading
    assert config.help.send_mail is not None
    mail = mail_settings(current)
    assert mail is not None
    assert (mail.host, mail.port, mail.security, mail.user, mail.password, mail.sender) == (
        "smtp.arhlm.example", 465, "tls", "svp", "secret", "SVP <svp@arhlm.example>")


def test_without_a_mail_server_no_link_can_be_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SVP_MAIL_SMTP_HOST", raising=False)
    monkeypatch.setenv("SVP_HELP_CENTRE", "false")
    config = admin_config(load_settings(), sealer=SEALER)
    assert config.help.send_mail is None and not config.help.enabled


@pytest.mark.parametrize(("name", "value"), [("SVP_MAIL_SMTP_SECURITY", "ssl3"),
                                             ("SVP_MAIL_SMTP_PORT", "70000")])
def test_a_wrong_mail_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, name: str,
                                          value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"réglage {name} invalide") as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_the_bot_links_to_the_help_centre_only_when_it_is_served(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from svp.botwiring import bot_config

    monkeypatch.setenv("SVP_TELEGRAM_TOKEN", "123456789:" + "A" * 35)
    monkeypatch.setenv("SVP_ADMIN_BASE_URL", "https://svp.arhlm.example/")
    monkeypatch.delenv("SVP_HELP_CENTRE", raising=False)
    assert bot_config(load_settings()).help_centre_url == "https://svp.arhlm.example/aide"
    monkeypatch.setenv("SVP_HELP_CENTRE", "false")
    assert bot_config(load_settings()).help_centre_url is None
