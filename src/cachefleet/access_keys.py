"""Access key pairs: who may call the API and use the console when authentication is on.

Each key pair belongs to an account (the 12 digits in ARNs and scopes). The pairs live in the
data directory's ``access-keys.json``, readable by its owner only; ``cachefleet access-keys``
adds, lists and removes them, and a running daemon sees a change at its next request (the file
is read again when its modification time changes). Secrets are never logged nor shown again
after ``create``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cachefleet.errors import FatalError
from cachefleet.model.iam import SigningKey
from cachefleet.model.ids import is_account_id

ACCESS_KEYS_FILE = "access-keys.json"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One key pair of an account."""

    access_key_id: str
    secret_access_key: str
    account: str
    created: str  # ISO 8601, UTC

    def __repr__(self) -> str:
        return f"AccessKey({self.access_key_id!r}, account={self.account!r})"


def new_access_key(account: str) -> AccessKey:
    """A fresh key pair shaped like AWS's: ``AKIA`` + 16 characters, and a 40-character secret.

    :raises ValueError: the account is not 12 digits.
    """
    if not is_account_id(account):
        raise ValueError(f"{account!r} is not an account id: use 12 digits.")
    key_id = "AKIA" + base64.b32encode(secrets.token_bytes(10)).decode()
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    return AccessKey(key_id, secret, account, datetime.now(UTC).isoformat(timespec="seconds"))


class AccessKeyFile:
    """The data directory's key pairs, read again whenever the file changes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ACCESS_KEYS_FILE
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._keys: dict[str, AccessKey] = {}

    def find(self, access_key_id: str) -> AccessKey | None:
        """The key pair with this id, if there is one."""
        return self.keys().get(access_key_id)

    def signing_keys(self, account: str) -> tuple[SigningKey, ...]:
        """The account's key pairs, as they sign its IAM users' tokens (in a stable order)."""
        return tuple(
            SigningKey(key.access_key_id, key.secret_access_key)
            for key in sorted(self.keys().values(), key=lambda key: key.access_key_id)
            if key.account == account
        )

    def keys(self) -> dict[str, AccessKey]:
        """Every key pair, by id (one ``stat`` when the file has not changed)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        seen = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if seen != self._seen:
                self._keys = _read(self.path)
                self._seen = seen
            return self._keys

    def add(self, key: AccessKey) -> None:
        """Add a key pair (the file is created readable by its owner only)."""
        keys = dict(self.keys())
        keys[key.access_key_id] = key
        self._write(keys)

    def remove(self, access_key_id: str) -> bool:
        """Remove a key pair; whether there was one."""
        keys = dict(self.keys())
        if keys.pop(access_key_id, None) is None:
            return False
        self._write(keys)
        return True

    def _write(self, keys: dict[str, AccessKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        body = json.dumps([asdict(key) for key in keys.values()], indent=2)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)


def _read(path: Path) -> dict[str, AccessKey]:
    try:
        rows = json.loads(path.read_text())
        keys = [AccessKey(**row) for row in rows]
    except (OSError, ValueError, TypeError) as error:
        raise FatalError(f"cannot read the access keys in {path}: {error}") from error
    return {key.access_key_id: key for key in keys}
