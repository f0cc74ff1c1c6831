"""The console's left-hand navigation, as ElastiCache's: defined here and nowhere else.

Each entry names its page's path under the console's root. A page whose backend has not landed
keeps its entry and answers "not available yet" (`app.py` gives every entry without a page of
its own that answer), so a later page plugs in by giving its entry a handler.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One menu entry: its key, its label, its path, and what the page will hold (said on the
    "not available yet" page of an entry whose page has not landed)."""

    key: str
    title: str
    path: str
    purpose: str = ""
    children: tuple[NavEntry, ...] = ()


NAV: tuple[NavEntry, ...] = (
    NavEntry("dashboard", "Dashboard", "/dashboard"),
    NavEntry("caches", "Redis OSS caches", "/"),
    NavEntry(
        "serverless", "Serverless caches", "/serverless",
        "Caches that scale with their traffic, with no nodes to choose.",
    ),
    NavEntry("backups", "Backups", "/backups", "Snapshots of caches, and restores from them."),
    NavEntry(
        "parameter-groups", "Parameter groups", "/parameter-groups",
        "Custom engine parameters for caches.",
    ),
    NavEntry("subnet-groups", "Subnet groups", "/subnet-groups"),
    NavEntry("security-groups", "Security groups", "/security-groups"),
    NavEntry(
        "user-management", "User management", "/users", "",
        (
            NavEntry("users", "Users", "/users", "Users with passwords and access strings."),
            NavEntry(
                "user-groups", "User groups", "/user-groups",
                "Groups of users given access to a cache.",
            ),
        ),
    ),
    NavEntry("events", "Events", "/events"),
    NavEntry("notifications", "Notifications", "/notifications"),
    NavEntry("settings", "Settings", "/settings"),
)  # fmt: skip


def entries() -> tuple[NavEntry, ...]:
    """Every page of the menu, children included, in menu order."""
    found: list[NavEntry] = []
    for entry in NAV:
        found.extend(entry.children or (entry,))
    return tuple(found)
