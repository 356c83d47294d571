"""Settings of the IMAP reader (issue 24): read from SVP_MAIL_IMAP_*, refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mail.imap import MailReader
from svp.mailwiring import imap_settings, mail_reader
from svp.settings import SettingsError, load_settings

BASE = {"SVP_MAIL_IMAP_HOST": "imap.arhlm.example", "SVP_MAIL_IMAP_USER": "svp@arhlm.example",
        "SVP_MAIL_IMAP_PASSWORD": "secret"}


def _environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in ("SVP_MAIL_IMAP_PORT", "SVP_MAIL_IMAP_SECURITY", "SVP_MAIL_IMAP_MAILBOX",
                 "SVP_MAIL_IMAP_PROCESSED", "SVP_MAIL_IMAP_CAFILE", "SVP_MAIL_IMAP_HOST",
                 "SVP_MAIL_IMAP_USER", "SVP_MAIL_IMAP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_the_mailbox_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("-----BEGIN CERTIFICATE-----\n")
    _environment(monkeypatch, {**BASE, "SVP_MAIL_IMAP_PORT": "143",
                               "SVP_MAIL_IMAP_SECURITY": "starttls",
                               "SVP_MAIL_IMAP_MAILBOX": "Questions",
                               "SVP_MAIL_IMAP_PROCESSED": "move:Traités",
                               "SVP_MAIL_IMAP_CAFILE": str(cafile),
                               "SVP_MAIL_IMAP_POLL_SECONDS": "30",
                               "SVP_MAIL_IMAP_MAX_MEGABYTES": "10"})
    settings = imap_settings(load_settings())
    assert settings is not None
    assert (settings.host, settings.port, settings.security, settings.user, settings.password,
            settings.mailbox, settings.move_to, settings.cafile, settings.poll_seconds,
            settings.max_message_bytes) == (
        "imap.arhlm.example", 143, "starttls", "svp@arhlm.example", "secret", "Questions",
        "Traités", str(cafile), 30.0, 10 * 1024 * 1024)
    assert "secret" not in repr(settings)
    reader = mail_reader(object(), load_settings(), lambda: None)  # type: ignore[arg-type]
    assert isinstance(reader, MailReader) and not reader.running


def test_by_default_the_inbox_is_read_over_tls_and_flagged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, BASE)
    settings = imap_settings(load_settings())
    assert settings is not None
    assert (settings.port, settings.security, settings.mailbox, settings.move_to) == (
        993, "tls", "INBOX", None)


def test_without_a_mailbox_nothing_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, {})
    current = load_settings()
    assert imap_settings(current) is None
    assert mail_reader(object(), current, lambda: None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value"), [("SVP_MAIL_IMAP_SECURITY", "none"),
                                             ("SVP_MAIL_IMAP_PORT", "0"),
                                             ("SVP_MAIL_IMAP_PROCESSED", "delete"),
                                             ("SVP_MAIL_IMAP_PROCESSED", "move:"),
                                             ("SVP_MAIL_IMAP_POLL_SECONDS", "0")])
def test_a_wrong_imap_setting_is_one_french_line(monkeypatch: pytest.MonkeyPatch, name: str,
                                                 value: str) -> None:
    _environment(monkeypatch, {**BASE, name: value})
    with pytest.raises(SettingsError, match=f"réglage {name} invalide") as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    if name == "SVP_MAIL_IMAP_PROCESSED":
        assert "flag ou move:<dossier> attendu" in str(caught.value)


@pytest.mark.parametrize(("values", "named"), [
    ({"SVP_MAIL_IMAP_HOST": "imap.arhlm.example"}, "SVP_MAIL_IMAP_USER"),
    ({**BASE, "SVP_MAIL_IMAP_PROCESSED": "move:INBOX"}, "SVP_MAIL_IMAP_PROCESSED"),
    ({**BASE, "SVP_MAIL_IMAP_CAFILE": "/nonexistent/ca.pem"}, "SVP_MAIL_IMAP_CAFILE")])
def test_an_incomplete_mailbox_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                      values: dict[str, str],
                                                      named: str) -> None:
    _environment(monkeypatch, values)
    with pytest.raises(SettingsError, match=named) as caught:
        imap_settings(load_settings())
    assert "\n" not in str(caught.value)
