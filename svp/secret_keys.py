"""The keys that seal secrets at rest: SVP_SECRET_KEY, or else the key file of the data folder.

The key file (`<data dir>/secret.key`, mode 0600) holds one key a line, the sealing key first;
lines after it are older keys still read (a rotation in progress). `scripts/run.sh` creates it,
and so does any `svp` process that needs a key when there is neither a variable nor a file, so
zero configuration works. Files are always replaced whole (write aside, then rename), so a
crash never leaves a half-written key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.people.sealed_secrets import MIN_KEY_BYTES, SecretKeyError, SecretSealer
from svp.settings import Settings

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_HEADER = (
    "# Clé de chiffrement des secrets du SVP (docs/security.md) : à sauvegarder, secrète.\n"
    "# La première clé chiffre ; les suivantes, s'il y en a, sont encore lues (rotation).\n"
)


@dataclass(frozen=True)
class SecretKeys:
    """The keys of this process, the sealing one first, and where they come from."""

    keys: tuple[str, ...]
    key_file: Path | None  # None: SVP_SECRET_KEY (and SVP_SECRET_KEY_PREVIOUS)
    created: bool = False  # this process has just created the key file

    @property
    def from_environment(self) -> bool:
        """Whether the sealing key is SVP_SECRET_KEY (rather than the key file)."""
        return self.key_file is None

    def sealer(self) -> SecretSealer:
        """A sealer over these keys; from the key file, it follows a rotation as it happens."""
        if self.key_file is None:
            return SecretSealer(self.keys)
        path, last = self.key_file, list(self.keys)

        def reread() -> list[str]:
            try:
                last[:] = read_key_file(path)
            except (OSError, SecretKeyError) as error:  # keep working with what was read
                logger.warning("key file %s unreadable, keeping the keys read before: %s",
                               path, error)
            return list(last)

        return SecretSealer(self.keys, reload=reread)


def key_file_path(current: Settings) -> Path:
    """Where the key file lives: in the data folder."""
    return current.data_dir / KEY_FILE_NAME


def new_key() -> str:
    """Draw a fresh key (256 random bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def load(current: Settings, *, create: bool = True) -> SecretKeys:
    """The keys of the settings; without SVP_SECRET_KEY, those of the key file (made if asked)."""
    path = key_file_path(current)
    if current.secret_key is not None:
        keys = [_checked(current.secret_key.get_secret_value(), "SVP_SECRET_KEY")]
        keys += [_checked(value, "SVP_SECRET_KEY_PREVIOUS") for value in _previous(current)]
        if path.exists():
            # Moving from the file to the variable: what the file sealed stays readable until
            # `svp secrets rotate` seals it again under SVP_SECRET_KEY.
            try:
                keys += read_key_file(path)
            except (OSError, SecretKeyError) as error:
                logger.warning("key file %s ignored (SVP_SECRET_KEY is set): %s", path, error)
        return SecretKeys(keys=tuple(keys), key_file=None)
    created = create and create_key_file(path)
    if created:
        logger.info("secret key file created: %s", path)
    return SecretKeys(keys=tuple(read_key_file(path)), key_file=path, created=created)


def known_values(current: Settings) -> list[str]:
    """Every key of the settings and of an existing key file, for the log redaction."""
    values = [current.secret_key.get_secret_value()] if current.secret_key else []
    values += list(_previous(current))
    with contextlib.suppress(OSError, SecretKeyError):
        values += read_key_file(key_file_path(current))
    return values


def read_key_file(path: Path) -> list[str]:
    """The keys of a key file, the sealing one first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SecretKeyError(
            f"fichier de clé {path} absent : restaurez-le depuis la sauvegarde, ou définissez "
            "SVP_SECRET_KEY.") from None
    keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not keys:
        raise SecretKeyError(f"le fichier de clé {path} ne contient aucune clé : restaurez-le "
                             "depuis la sauvegarde.")
    return [_checked(key, str(path)) for key in keys]


def write_key_file(path: Path, keys: Sequence[str]) -> None:
    """Replace the key file whole (written aside, synced, then renamed over the old one)."""
    if not keys:
        raise SecretKeyError("aucune clé à écrire.")
    temporary = _write_aside(path, keys)
    os.replace(temporary, path)
    _sync_folder(path.parent)


def create_key_file(path: Path) -> bool:
    """Create the key file with a fresh key unless it exists; True when this call made it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _write_aside(path, [new_key()])
    try:
        # A hard link never replaces: when two processes start at once, one key wins and the
        # other process reads it, instead of each sealing with a key the other overwrote.
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    _sync_folder(path.parent)
    return True


def _write_aside(path: Path, keys: Iterable[str]) -> Path:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(_HEADER + "".join(f"{key}\n" for key in keys))
        file.flush()
        os.fsync(file.fileno())
    return temporary


def _sync_folder(folder: Path) -> None:
    # The rename itself is durable only once the folder is synced.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _previous(current: Settings) -> list[str]:
    if current.secret_key_previous is None:
        return []
    return [value.strip() for value in current.secret_key_previous.get_secret_value().split(",")
            if value.strip()]


def _checked(key: str, source: str) -> str:
    size = len(key.encode("utf-8"))
    if size < MIN_KEY_BYTES:
        raise SecretKeyError(
            f"{source} : clé de chiffrement trop courte ({size} octets, il en faut au moins "
            f"{MIN_KEY_BYTES}) ; tirez-en une au hasard, par exemple avec "
            "« openssl rand -base64 32 ».")
    return key
