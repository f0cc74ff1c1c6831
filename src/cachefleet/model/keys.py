"""cachefleet's key store, as KMS shows it: master keys that encrypt snapshots at rest.

Each account and region has a default key (alias ``alias/aws/elasticache``, made on first use,
as AWS makes its managed key) and may have named keys, made from the CLI. A key is named in the
API by its id, its ARN (``arn:aws:kms:<region>:<account>:key/<id>``) or an alias
(``alias/<name>``, or its ARN ``arn:aws:kms:<region>:<account>:alias/<name>``). A disabled key
cannot encrypt or decrypt. The key material is kept sealed in the store. Pure data, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cachefleet.model.ids import Scope

#: The alias of the default key (AWS's managed key for ElastiCache has this alias).
DEFAULT_ALIAS = "alias/aws/elasticache"
_ALIAS = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class KeyState(StrEnum):
    """A key's state, as KMS spells it."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One key of the key store (its material is kept apart, sealed)."""

    scope: Scope
    key_id: str
    alias: str
    description: str
    state: KeyState
    created_at: datetime

    @property
    def arn(self) -> str:
        """The key's ARN."""
        return key_arn(self.scope, self.key_id)

    @property
    def is_default(self) -> bool:
        """Whether this is the scope's default key."""
        return self.alias == DEFAULT_ALIAS

    @property
    def enabled(self) -> bool:
        """Whether the key may encrypt and decrypt."""
        return self.state is KeyState.ENABLED


def key_arn(scope: Scope, key_id: str) -> str:
    """A key's ARN.

    >>> key_arn(Scope("us-east-1", "000000000000"), "k")
    'arn:aws:kms:us-east-1:000000000000:key/k'
    """
    return f"arn:aws:kms:{scope.region}:{scope.account}:key/{key_id}"


@dataclass(frozen=True, slots=True)
class KeyRef:
    """What a ``KmsKeyId`` names: a key id, or an alias (``alias/…``); None when malformed or
    of another scope."""

    key_id: str = ""
    alias: str = ""


def parse_key_ref(scope: Scope, value: str) -> KeyRef | None:
    """Read a key id, key ARN, alias or alias ARN of ``scope`` (None: not one of those).

    >>> scope = Scope("us-east-1", "000000000000")
    >>> parse_key_ref(scope, "arn:aws:kms:us-east-1:000000000000:alias/orders")
    KeyRef(key_id='', alias='alias/orders')
    >>> parse_key_ref(scope, "arn:aws:kms:eu-west-1:000000000000:alias/orders") is None
    True
    """
    prefix = f"arn:aws:kms:{scope.region}:{scope.account}:"
    if value.startswith("arn:"):
        if not value.startswith(prefix):
            return None
        rest = value.removeprefix(prefix)
        if rest.startswith("key/"):
            value = rest.removeprefix("key/")
        elif rest.startswith("alias/"):
            value = rest
        else:
            return None
    if _ALIAS.fullmatch(value):
        return KeyRef(alias=value)
    if _KEY_ID.fullmatch(value):
        return KeyRef(key_id=value)
    return None


def check_alias(alias: str) -> str:
    """A new key's alias, ``alias/`` added when missing.

    :raises ValueError: not a valid alias, or one reserved for AWS (``alias/aws/…``).
    """
    full = alias if alias.startswith("alias/") else f"alias/{alias}"
    if not _ALIAS.fullmatch(full) or full.startswith("alias/aws/"):
        raise ValueError(
            f"{alias!r} is not a valid alias: letters, digits, '/', '_' and '-', not starting "
            "with aws/"
        )
    return full
