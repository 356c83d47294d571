"""Short secrets sealed at rest (the TOTP secrets of web accounts).

Each configured key is stretched by HKDF-SHA256 into a Fernet key (AES-128-CBC and
HMAC-SHA256, authenticated). A sealed value reads `v1:<key id>:<Fernet token>`: the version
says how to open it, the key id (a fingerprint of the derived key, which reveals nothing of
it) says which key sealed it. So a wrong key fails with a message naming the cause instead of
a bare "invalid token", and a rotation can tell which values are still under an older key.

Several keys may be given: the first seals, every one opens (previous keys during a rotation).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from knowledge.errors import DomainError

MIN_KEY_BYTES = 32
VERSION = "v1"
_SALT = b"svp sealed secrets"
_CIPHER_INFO = b"svp sealed secrets v1: fernet key"
_ID_INFO = b"svp sealed secrets v1: key id"
_ID_BYTES = 4  # 8 hex digits: enough to tell a handful of keys apart


class SecretKeyError(DomainError):
    """A key given to seal secrets is missing or unfit (too short)."""


class UnreadableSecret(DomainError):
    """A stored secret cannot be opened: another key sealed it, it is damaged or in clear."""


def _derive(material: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(material)


@dataclass(frozen=True)
class _Key:
    key_id: str
    fernet: Fernet


def _key(secret: str) -> _Key:
    material = secret.encode("utf-8")
    if len(material) < MIN_KEY_BYTES:
        raise SecretKeyError(
            f"la clé de chiffrement des secrets fait {len(material)} octets, il en faut au moins "
            f"{MIN_KEY_BYTES} : tirez-en une au hasard (par exemple « openssl rand -base64 32 »).")
    fernet_key = base64.urlsafe_b64encode(_derive(material, _CIPHER_INFO, 32))
    return _Key(key_id=_derive(material, _ID_INFO, _ID_BYTES).hex(), fernet=Fernet(fernet_key))


def key_id(secret: str) -> str:
    """The fingerprint a key leaves in the values it seals (safe to print)."""
    return _key(secret).key_id


def is_sealed(stored: str) -> bool:
    """Tell whether a stored value has the sealed form (rather than a secret in clear)."""
    return stored.startswith(f"{VERSION}:")


def sealed_key_id(stored: str) -> str | None:
    """The id of the key that sealed a stored value (None for a value in clear)."""
    if not is_sealed(stored):
        return None
    parts = stored.split(":", 2)
    return parts[1] if len(parts) == 3 else None


class SecretSealer:
    """Seals short secrets with the first key and opens them with any of the keys.

    `reload`, when given, returns the current list of keys (a key file that a rotation may
    rewrite while the process runs): it is called before sealing and when a value names a key
    the sealer does not hold, so a running process follows a rotation without a restart.
    """

    def __init__(self, keys: Sequence[str], *,
                 reload: Callable[[], Sequence[str]] | None = None) -> None:
        self._reload = reload
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._keys: tuple[_Key, ...] = ()
        self._use(keys)

    def _use(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError("aucune clé de chiffrement des secrets n'est configurée.")
        if tuple(keys) == self._secrets:
            return
        derived: dict[str, _Key] = {}
        for secret in keys:
            key = _key(secret)
            derived.setdefault(key.key_id, key)  # the same key twice: keep its first place
        self._keys = tuple(derived.values())  # one assignment: readers see old or new, whole
        self._secrets = tuple(keys)

    def _refresh(self) -> None:
        if self._reload is not None:
            with self._lock:
                self._use(self._reload())

    @property
    def key_id(self) -> str:
        """The id of the key that seals."""
        return self._keys[0].key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key that opens, the sealing one first."""
        return tuple(key.key_id for key in self._keys)

    def seal(self, plain: str) -> str:
        """Seal a secret under the first key."""
        self._refresh()
        current = self._keys[0]
        token = current.fernet.encrypt(plain.encode("utf-8")).decode("ascii")
        return f"{VERSION}:{current.key_id}:{token}"

    def open(self, stored: str) -> str:
        """Open a sealed value; UnreadableSecret says why when it cannot be."""
        if not is_sealed(stored):
            version = stored.split(":", 1)[0] if ":" in stored else None
            if version is not None and version[:1] == "v" and version[1:].isdigit():
                raise UnreadableSecret(
                    f"secret chiffré au format {version}, inconnu de cette version du logiciel : "
                    "mettez le logiciel à jour.")
            raise UnreadableSecret(
                "secret enregistré en clair : la migration qui chiffre les secrets n'a pas été "
                "appliquée ; lancez « svp db upgrade ».")
        parts = stored.split(":", 2)
        if len(parts) != 3:
            raise UnreadableSecret("secret chiffré endommagé (format incomplet).")
        _version, sealed_by, token = parts
        key = self._find(sealed_by)
        if key is None:
            raise UnreadableSecret(
                f"secret chiffré avec une autre clé (empreinte {sealed_by}) que celles "
                f"configurées ({', '.join(self.key_ids)}) : rétablissez la clé d'origine, ou "
                "donnez-la comme clé précédente.")
        try:
            return key.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise UnreadableSecret(
                f"secret chiffré endommagé (clé {sealed_by}) : il ne peut pas être "
                "déchiffré.") from error

    def is_current(self, stored: str) -> bool:
        """Tell whether a stored value is sealed under the sealing key (nothing to redo)."""
        return sealed_key_id(stored) == self.key_id

    def _find(self, sealed_by: str) -> _Key | None:
        key = next((key for key in self._keys if key.key_id == sealed_by), None)
        if key is None and self._reload is not None:
            self._refresh()  # a rotation may have brought the key in since we last looked
            key = next((key for key in self._keys if key.key_id == sealed_by), None)
        return key

    def __repr__(self) -> str:
        return f"SecretSealer(key_ids={list(self.key_ids)})"  # ids only, never a key
