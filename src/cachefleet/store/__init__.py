"""Persistent state in SQLite: specs, published state, events, tags.

The only package that knows SQL. Returns model objects, never rows.
"""

from cachefleet.store.db import Store

__all__ = ["Store"]
