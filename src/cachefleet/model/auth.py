"""AUTH tokens: which passwords a group's default user takes, before and after a change.

The tokens themselves never enter a spec, a state, an event or an operation: they live sealed
in the store's ``auth_tokens`` table (`cachefleet.secrets`), and the spec only says when they
last changed (`GroupSpec.auth_token_modified`). Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AuthTokens:
    """A group's AUTH tokens.

    ``current`` is the token replicas and Sentinels authenticate with (empty: none).
    ``also`` are other tokens the nodes keep taking (the old one after a ROTATE, until a SET).
    ``passwordless``: clients that send no token (or any) are let in too (the group had no
    token and a ROTATE gave it one; a DELETE).
    ``retiring`` / ``retiring_passwordless``: what the nodes took before the change under way,
    and keep taking until every replica and Sentinel uses ``current`` (then they are dropped).
    """

    current: str = field(default="", repr=False)
    also: tuple[str, ...] = field(default=(), repr=False)
    passwordless: bool = False
    retiring: tuple[str, ...] = field(default=(), repr=False)
    retiring_passwordless: bool = False

    def accepted(self, during_change: bool) -> tuple[tuple[str, ...], bool]:
        """The passwords the default user takes, and whether it takes none: after the change
        (``during_change`` false), or while it reaches the nodes (the old ones as well)."""
        tokens = [self.current, *self.also] if self.current else list(self.also)
        passwordless = self.passwordless or not tokens
        if during_change:
            tokens += self.retiring
            passwordless = passwordless or self.retiring_passwordless
        return tuple(dict.fromkeys(t for t in tokens if t)), passwordless

    def candidates(self) -> tuple[str, ...]:
        """Tokens the control plane may try, best first ("" for none)."""
        tokens, passwordless = self.accepted(during_change=True)
        return (*tokens, "") if passwordless else tokens
