"""RBAC users and user groups, as ElastiCache has them, and the rules of their access strings.

A user is a Redis ACL user: a name, an access string (Redis's ACL rules without passwords, as
ElastiCache takes them) and up to two passwords, kept only as SHA-256 digests (Redis's ACL takes
``#<digest>`` for a password, so the passwords themselves are never stored). A user group is a set
of users, one of them named ``default``, that caches use instead of an AUTH token. Every scope
has the built-in user ``default`` (no password, every key and command).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from cachefleet.model.ids import Scope

DEFAULT_USER = "default"
DEFAULT_ACCESS = "on ~* +@all"
MIN_PASSWORD, MAX_PASSWORD = 16, 128
MAX_PASSWORDS = 2
USER_ENGINES = ("redis", "valkey")
#: Redis ACL rules an access string may hold, besides ``+``/``-`` command rules.
_WORDS = frozenset(
    {"on", "off", "allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands",
     "nocommands"}
)  # fmt: skip
#: Rules ElastiCache refuses in an access string: passwords are set through the API only.
_REFUSED = frozenset({"reset", "nopass", "resetpass"})
_COMMAND = re.compile(r"[+-](@?[a-z0-9_-]+)(\|[a-z0-9_-]+)?", re.IGNORECASE)
_PATTERN = re.compile(r"(~|%R~|%W~|%RW~|&)\S+")


class UserStatus(StrEnum):
    """Where a user or user group is in its life."""

    ACTIVE = "active"
    MODIFYING = "modifying"
    DELETING = "deleting"


class AuthenticationType(StrEnum):
    """How a user signs in (DescribeUsers' ``Authentication.Type``)."""

    PASSWORD = "password"
    NO_PASSWORD = "no-password"
    IAM = "iam"


@dataclass(frozen=True, slots=True)
class User:
    """One RBAC user of a scope."""

    scope: Scope
    user_id: str
    user_name: str
    engine: str
    access_string: str
    password_digests: tuple[str, ...] = ()
    authentication: AuthenticationType = AuthenticationType.PASSWORD
    status: UserStatus = UserStatus.ACTIVE

    @property
    def minimum_engine_version(self) -> str:
        """The oldest engine that runs the access string (selectors of 7.0 need 7.0), and the
        user: IAM authentication needs 7.0."""
        if self.authentication is AuthenticationType.IAM:
            return "7.0"
        return minimum_engine_version(self.access_string)

    def __repr__(self) -> str:  # digests stay out of logs too
        return f"User({self.user_id!r}, name={self.user_name!r})"


@dataclass(frozen=True, slots=True)
class UserGroup:
    """A user group: its users (one named ``default``) by id."""

    scope: Scope
    user_group_id: str
    engine: str
    user_ids: tuple[str, ...]
    status: UserStatus = UserStatus.ACTIVE


def builtin_default(scope: Scope) -> User:
    """The user ``default`` every scope has: no password, every key, channel and command."""
    return User(
        scope, DEFAULT_USER, DEFAULT_USER, "redis", DEFAULT_ACCESS, (),
        AuthenticationType.NO_PASSWORD,
    )  # fmt: skip


def password_digest(password: str) -> str:
    """How a password is kept: its SHA-256, the form Redis's ACL takes (``#<digest>``)."""
    return hashlib.sha256(password.encode()).hexdigest()


def password_problem(password: str) -> str | None:
    """Why a password is not one ElastiCache takes, if it is not."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"Passwords length must be between {MIN_PASSWORD}-{MAX_PASSWORD} characters."
    if any(not (c.isascii() and c.isprintable()) or c.isspace() for c in password):
        return "Passwords must contain only printable ASCII characters without spaces."
    return None


def access_string_problem(access: str) -> str | None:
    """Why an access string is not one ElastiCache takes, if it is not."""
    rules = access.split()
    if not rules:
        return "Access string must not be empty."
    for rule in rules:
        lowered = rule.lower()
        if lowered in _REFUSED or rule[0] in "><#" or rule.startswith("!"):
            return (
                f"Access string rule {rule!r} is not allowed: passwords are set with Passwords, "
                "and reset rules are not accepted."
            )
        if lowered in _WORDS or _COMMAND.fullmatch(rule) or _PATTERN.fullmatch(rule):
            continue
        return f"Access string rule {rule!r} is not a valid access rule."
    return None


def minimum_engine_version(access: str) -> str:
    """6.0 for ACLs; 7.0 when the access string uses 7.0's read/write key patterns."""
    return "7.0" if re.search(r"(^|\s)%R?W?~", access) else "6.0"
