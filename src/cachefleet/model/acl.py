"""A user group as the Redis ACL of a cache's nodes. Pure data, no I/O.

Every user of the group attached to a cache becomes an ACL user of each of its nodes: its access
string as the user's rules (ElastiCache's access strings are Redis ACL rules), its passwords as
``#<sha256>`` (Redis never sees them in plain text) or ``nopass``; an IAM user gets the digests
of the tokens accepted now when the ACL is given (`cachefleet.model.iam`), not from here.
Besides them the nodes have one user of their own, `CONTROL_USER`, which the control plane,
the replicas (``masteruser``) and the Sentinels (``auth-user``) sign in as; its password is
derived from the installation's sealing key and never leaves the control plane and the nodes'
``redis.conf``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cachefleet.model.iam import IamUser
from cachefleet.model.users import DEFAULT_USER, AuthenticationType, User, builtin_default

#: The control plane's own ACL user on a node of a cache with a user group.
CONTROL_USER = "cachefleet-control"
CONTROL_RULES = ("on", "~*", "&*", "+@all")


@dataclass(frozen=True, slots=True)
class AclUser:
    """One ACL user as a node gets it: ``ACL SETUSER <name> reset <rules>``."""

    name: str
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AclSet:
    """The ACL users every node of a cache has: the user group's (``default`` among them) and
    the control plane's own (`CONTROL_USER`, signing in with ``control_password``)."""

    users: tuple[AclUser, ...]
    control_password: str = field(repr=False)
    iam: tuple[IamUser, ...] = ()  # the users among ``users`` that sign in with tokens

    def control_user(self) -> AclUser:
        """The control plane's own user, with its password as a digest."""
        return AclUser(CONTROL_USER, (*CONTROL_RULES, f"#{sha256_hex(self.control_password)}"))

    def all_users(self) -> tuple[AclUser, ...]:
        """The control plane's user first (so it can go on working), then the group's."""
        return (self.control_user(), *self.users)

    @property
    def digest(self) -> str:
        """Identifies what the nodes should have (compared with what a node was last given)."""
        text = "\n".join(" ".join((u.name, *u.rules)) for u in self.all_users())
        iam = "\n".join(f"iam {u.user_id} {u.cache_name} {u.region}" for u in self.iam)
        return sha256_hex(f"{text}\n{iam}" if iam else text)


def sha256_hex(text: str) -> str:
    """The SHA-256 of a text, as Redis's ACL takes a password (``#<hex>``)."""
    return hashlib.sha256(text.encode()).hexdigest()


def acl_user(user: User) -> AclUser:
    """A user as an ACL user: ``reset``, its access string, its passwords' digests (or
    ``nopass``; none for an IAM user). An access string without ``on`` leaves the user off, as
    on ElastiCache."""
    if user.authentication is AuthenticationType.IAM:
        keys: tuple[str, ...] = ()
    elif user.authentication is AuthenticationType.NO_PASSWORD or not user.password_digests:
        keys = ("nopass",)
    else:
        keys = tuple(f"#{digest}" for digest in user.password_digests)
    # The built-in default user keeps every channel too, as Redis's own default user has.
    channels = ("&*",) if user == builtin_default(user.scope) else ()
    return AclUser(user.user_name, ("reset", *user.access_string.split(), *channels, *keys))


def acl_set(
    users: Sequence[User], control_password: str, cache_name: str = "", region: str = ""
) -> AclSet:
    """The ACL of the cache ``cache_name`` (in ``region``) whose user group holds ``users``
    (``default`` first); a user named like the control plane's own is left out."""
    chosen = sorted(
        (u for u in users if u.user_name != CONTROL_USER),
        key=lambda u: (u.user_name != DEFAULT_USER, u.user_name),
    )
    iam = tuple(
        IamUser(u.user_id, cache_name.lower(), region)
        for u in chosen
        if u.authentication is AuthenticationType.IAM
    )
    return AclSet(tuple(acl_user(user) for user in chosen), control_password, iam)
