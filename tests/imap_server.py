"""A real IMAP server on 127.0.0.1 for the tests: Debian's Dovecot with a temporary configuration.

`imap_server(tmp_path)` starts `dovecot -F -c <tmp>/dovecot.conf` as an ordinary child process
of the current user (root in CI), in its own process group, and kills that group when the
block ends. Nothing is installed here (`scripts/test.sh` installs the package
`dovecot-imapd`) and nothing outside the temporary folders is read or written: not
/etc/dovecot, not /var/run/dovecot.

Written against Dovecot 2.3 (Debian 12 ships 2.3.19). The configuration relies on:

- `base_dir`, `state_dir`, `log_path`, `instance_name`: the runtime sockets, state and log
  in temporary folders (`base_dir` and the maildirs in a short /tmp folder: unix socket
  paths are limited to 108 bytes, pytest's tmp_path can be longer, and is not reachable by
  other users);
- `default_internal_user`, `default_internal_group`, `default_login_user`, `first_valid_uid`,
  `first_valid_gid`, `service auth { user }`, `chroot =` on the login services: as an
  ordinary user every process runs as that user. Dovecot refuses to run its login process,
  and its mail processes (`userdb returned 0 as uid`), as root: as root, login runs as the
  package's `dovenull`, mail and internal processes as `dovecot` (both created by
  dovecot-core), auth as root (it reads the passwd-file in tmp_path);
- `listen = 127.0.0.1`, `service imap-login { inet_listener imap / imaps }`: plain IMAP (with
  STARTTLS) and IMAPS (implicit TLS) on free ports;
- `ssl = required`, `ssl_cert`, `ssl_key`: a self-signed certificate for `127.0.0.1` and
  `localhost`, made with `openssl` (its path is `cafile`, which a client trusts);
  `disable_plaintext_auth = yes`: no LOGIN before TLS;
- `passdb`/`userdb` `passwd-file` with `{PLAIN}` passwords, `mail_location = maildir:~/Maildir`
  under a temporary home per user;
- `mailbox_idle_check_interval = 1 secs`: IDLE notices a delivery within a second even where
  inotify would miss it; `mail_max_userip_connections`: tests open many connections.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from mail_server import free_port

DOVECOT = "/usr/sbin/dovecot"


@dataclass
class ImapServer:
    """A running Dovecot: where it listens, the users it knows, and helpers to act as them."""

    host: str
    port: int  # IMAPS (implicit TLS)
    starttls_port: int  # plain IMAP, STARTTLS offered, no login before it
    cafile: Path
    users: dict[str, str]
    homes: Path  # one maildir home per user
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self, user: str) -> imaplib.IMAP4_SSL:
        """A logged-in IMAPS connection as one of the users (the caller logs out)."""
        context = ssl.create_default_context(cafile=str(self.cafile))
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=10)
        client.login(user, self.users[user])
        return client

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Put one message in a user's folder (IMAP APPEND, creating the folder); its UID."""
        client = self.client(user)
        try:
            if folder != "INBOX":
                client.create(_quote(folder))  # "already exists" is fine
            status, data = client.append(_quote(folder), "", None, raw)
            assert status == "OK", data
            # Dovecot answers [APPENDUID <uidvalidity> <uid>] (UIDPLUS).
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert found is not None, data
            return int(found.group(1))
        finally:
            client.logout()

    def list_uids(self, user: str, folder: str = "INBOX") -> list[int]:
        """The UIDs of the messages in a user's folder ([] when it does not exist)."""
        client = self.client(user)
        try:
            status, _ = client.select(_quote(folder), readonly=True)
            if status != "OK":
                return []
            status, data = client.uid("SEARCH", "ALL")
            assert status == "OK", data
            return [int(uid) for uid in (data[0] or b"").split()]
        finally:
            client.logout()

    def flags(self, user: str, uid: int, folder: str = "INBOX") -> set[str]:
        """The flags and keywords of one message (e.g. {"\\Seen", "$SvpStored"})."""
        client = self.client(user)
        try:
            client.select(_quote(folder), readonly=True)
            status, data = client.uid("FETCH", str(uid), "(FLAGS)")
            assert status == "OK", data
            line = data[0]
            if not isinstance(line, bytes):
                return set()
            found = re.search(rb"FLAGS \(([^)]*)\)", line)
            return set(found.group(1).decode().split()) if found else set()
        finally:
            client.logout()

    def fetch(self, user: str, uid: int, folder: str = "INBOX") -> bytes:
        """The raw bytes of one message, as the server keeps them (without marking it seen)."""
        client = self.client(user)
        try:
            client.select(_quote(folder), readonly=True)
            status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert status == "OK", data
            part = data[0]
            assert isinstance(part, tuple), data
            return bytes(part[1])
        finally:
            client.logout()

    def recreate(self, user: str, folder: str = "INBOX") -> None:
        """Give a folder a new UIDVALIDITY, as a server does after a rebuild: empty it, and
        delete the maildir's UID list (Dovecot then numbers the folder anew)."""
        client = self.client(user)
        try:
            client.select(_quote(folder))
            client.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
            client.expunge()
        finally:
            client.logout()
        maildir = self.homes / user / "Maildir"
        target = maildir if folder == "INBOX" else maildir / f".{folder}"
        for name in ("dovecot-uidlist", "dovecot.index", "dovecot.index.cache",
                     "dovecot.index.log", "dovecot.index.log.2"):
            (target / name).unlink(missing_ok=True)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


def _config(*, root: Path, base_dir: Path, homes: Path, cert: Path, key: Path, port: int,
            starttls_port: int, internal: str, login: str, owner: str, uid: int,
            gid: int) -> str:
    return f"""\
instance_name = svp-test-{port}
base_dir = {base_dir}
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {_group_of(internal)}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
mail_max_userip_connections = 100
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
  default_fields = uid={uid} gid={gid} home={homes}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {owner}
}}
service auth-worker {{
  user = {owner}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _wait_until_listening(process: subprocess.Popen[bytes], ports: list[int], log: Path,
                          timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(ports)
    while waiting:
        if process.poll() is not None:
            said = "".join(path.read_text(errors="replace")[-2000:]
                           for path in (log, log.with_name("stderr.log")) if path.exists())
            raise RuntimeError(f"dovecot exited ({process.returncode}): {said}")
        try:
            with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.5):
                waiting.pop(0)
                continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"dovecot did not listen on {waiting} within {timeout} s")
        time.sleep(0.05)


@contextmanager
def imap_server(tmp_path: Path, users: dict[str, str] | None = None) -> Iterator[ImapServer]:
    """Run Dovecot on free ports of 127.0.0.1 until the block ends (maildirs under tmp_path)."""
    if not os.path.exists(DOVECOT):
        raise RuntimeError("dovecot is missing: apt-get install dovecot-imapd "
                           "(scripts/test.sh does it)")
    users = dict(users or {"svp@svp.example": "password"})
    root = tmp_path / "dovecot"
    root.mkdir()
    (root / "state").mkdir()
    # Sockets and maildirs in a short folder that Dovecot's unprivileged processes can reach.
    runtime = Path(tempfile.mkdtemp(prefix="svp-dovecot-", dir="/tmp"))
    runtime.chmod(0o755)
    account = pwd.getpwuid(os.getuid())
    internal, login, mail = _service_users(account.pw_name)
    mail_account = pwd.getpwnam(mail)
    (root / "users").write_text("".join(f"{name}:{{PLAIN}}{password}::::::\n"
                                        for name, password in users.items()))
    homes = runtime / "home"
    for name in users:
        (homes / name).mkdir(parents=True)
        os.chown(homes / name, mail_account.pw_uid, mail_account.pw_gid)
    cert, key = _certificate(root)
    port, starttls_port = free_port(), free_port()
    while starttls_port == port:
        starttls_port = free_port()
    config = root / "dovecot.conf"
    config.write_text(_config(root=root, base_dir=runtime / "run", homes=homes, cert=cert,
                              key=key, port=port, starttls_port=starttls_port,
                              internal=internal, login=login, owner=account.pw_name,
                              uid=mail_account.pw_uid, gid=mail_account.pw_gid))
    log = root / "dovecot.log"
    with open(root / "stderr.log", "ab") as stderr:  # start-up errors before log_path opens
        process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        _wait_until_listening(process, [port, starttls_port], log)
        yield ImapServer(host="127.0.0.1", port=port, starttls_port=starttls_port,
                         cafile=cert, users=users, homes=homes, log=log, process=process)
    finally:
        _stop(process)
        shutil.rmtree(runtime, ignore_errors=True)


def _service_users(current: str) -> tuple[str, str, str]:
    """Who runs Dovecot's internal, login and mail processes: the current user, except that
    Dovecot runs neither its login nor its mail processes as root: as root, the package's
    users `dovecot` (internal, mail) and `dovenull` (login)."""
    if os.getuid() != 0:
        return current, current, current
    try:
        pwd.getpwnam("dovenull")
        pwd.getpwnam("dovecot")
    except KeyError:
        raise RuntimeError("running as root, Dovecot needs the users dovecot and dovenull "
                           "that the package dovecot-core creates") from None
    return "dovecot", "dovenull", "dovecot"


def _group_of(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill Dovecot's whole process group (master, login and imap processes)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived the master
    process.wait(timeout=5)
