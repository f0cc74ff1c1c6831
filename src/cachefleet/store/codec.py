"""Model objects to JSON and back, driven by their type hints.

Handles frozen dataclasses, ``tuple[X, ...]``, ``dict[str, X]``, ``X | None``, StrEnums,
aware datetimes and plain scalars — the whole vocabulary of `model/`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def dumps(obj: object) -> str:
    """Serialise a model object to compact JSON."""
    return json.dumps(_plain(obj), separators=(",", ":"), sort_keys=True)


def loads(cls: type[T], text: str) -> T:
    """Rebuild a model object of type ``cls`` from JSON written by `dumps`."""
    value: T = _build(cls, json.loads(text))
    return value


def _plain(obj: object) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, tuple | list):
        return [_plain(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): _plain(value) for key, value in obj.items()}
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        if data is None:
            return None
        (inner,) = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return _build(inner, data)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_build(item, value) for value in data)
    if origin is dict:
        value_type = typing.get_args(tp)[1]
        return {key: _build(value_type, value) for key, value in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        known = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _build(hints[k], v) for k, v in data.items() if k in known})
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    return data
