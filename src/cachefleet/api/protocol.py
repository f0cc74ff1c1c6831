"""The AWS Query protocol, driven by botocore's own service models (ElastiCache, and STS).

Rule: this module knows the wire format and nothing else. A request's ``Version`` names the service
whose model serves it, as on AWS. Requests are parsed and results rendered by walking the
operation's input and output shapes; there are no per-action templates. Parsing
errors are `ProtocolError`s carrying the AWS code, message and HTTP status. Rendering errors
(a member the shape does not have, a value of the wrong type) are programming bugs and raise
`ValueError` or `TypeError`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
import xml.etree.ElementTree as ET
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.model import OperationModel, OperationNotFoundError, ServiceModel, Shape

from cachefleet.errors import CachefleetError

API_VERSION = "2015-02-02"
XML_NAMESPACE = "http://elasticache.amazonaws.com/doc/2015-02-02/"
SERVICES: dict[str, str] = {API_VERSION: "elasticache", "2011-06-15": "sts"}
"""API version → the botocore service answering it on this endpoint."""
NO_VERSION = "NO_VERSION_SPECIFIED"  # how AWS names a missing Version in its error message

ECHO_LIMIT = 256  # characters of one unbroken run (an echoed id or value) kept in a message
MESSAGE_LIMIT = 2048  # characters of an error message at most
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # timestamps are read within [EARLIEST, LATEST]
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


# --- errors --------------------------------------------------------------------------------------


class ProtocolError(CachefleetError):
    """A request the Query protocol itself rejects, with its AWS code and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def sender(self) -> bool:
        """True when the client is at fault (``<Type>Sender</Type>``), false for server faults."""
        return self.status < 500

    @classmethod
    def missing_action(cls) -> ProtocolError:
        """The request has no ``Action`` parameter."""
        return cls("MissingAction", "The request must contain the parameter Action.")

    @classmethod
    def invalid_action(cls, action: str, version: str | None) -> ProtocolError:
        """No model of ``version`` (None when absent) has the action, worded as AWS words it."""
        named = NO_VERSION if version is None else version
        return cls("InvalidAction", f"Could not find operation {action} for version {named}")

    @classmethod
    def not_implemented(cls, action: str) -> ProtocolError:
        """The action is in the model, but cachefleet does not carry it out yet (501)."""
        return cls(
            "NotImplemented", f"The action {action} is not available in cachefleet yet.", 501
        )

    @classmethod
    def missing_parameter(cls, name: str) -> ProtocolError:
        """A required parameter is absent."""
        return cls("MissingParameter", f"The request must contain the parameter {name}")

    @classmethod
    def invalid_value(cls, name: str, value: str, requirement: str) -> ProtocolError:
        """A parameter's value cannot be converted or breaks a constraint of the model."""
        return cls(
            "InvalidParameterValue",
            f"Value ({value}) for parameter {name} is invalid. {requirement}",
        )

    @classmethod
    def malformed(cls, message: str) -> ProtocolError:
        """The query string or form body cannot be read."""
        return cls("MalformedQueryString", message)

    @classmethod
    def too_large(cls, limit: int) -> ProtocolError:
        """The request body exceeds `limit` bytes (413, before anything is parsed)."""
        return cls(
            "RequestEntityTooLarge", f"The request body must not be larger than {limit} bytes.", 413
        )

    @classmethod
    def internal_failure(cls) -> ProtocolError:
        """Something failed on our side; the details are in the log, never in the answer."""
        return cls(
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            500,
        )


_LONG_RUN = re.compile(rf"\S{{{ECHO_LIMIT + 1},}}")


def shorten(message: str) -> str:
    """A message fit to answer with: long echoed runs cut to `ECHO_LIMIT`, the whole to
    `MESSAGE_LIMIT` characters, so a huge input is never sent back whole."""
    cut = _LONG_RUN.sub(lambda run: run.group()[:ECHO_LIMIT] + "...", message)
    return cut if len(cut) <= MESSAGE_LIMIT else cut[:MESSAGE_LIMIT] + "..."


# --- the model -----------------------------------------------------------------------------------


@functools.cache
def service_model(service: str = "elasticache") -> ServiceModel:
    """botocore's model of a service (ElastiCache unless named), loaded once per process."""
    return botocore.session.get_session().get_service_model(service)


def operation_names(service: str = "elasticache") -> list[str]:
    """Every operation of a service's model (ElastiCache 2015-02-02 has 75), sorted."""
    return sorted(str(name) for name in service_model(service).operation_names)


def operation_model(operation: str, version: str | None = API_VERSION) -> OperationModel:
    """The model of one operation of the API ``version`` (None: the request named none).

    :raises ProtocolError: ``InvalidAction`` if no model of that version has the operation.
    """
    service = SERVICES.get(version) if version is not None else None
    if service is None:
        raise ProtocolError.invalid_action(operation, version)
    try:
        return service_model(service).operation_model(operation)
    except OperationNotFoundError:
        raise ProtocolError.invalid_action(operation, version) from None


def _namespace(version: str | None) -> str:
    """The XML namespace of a version's answers; ElastiCache's for a version not served."""
    service = SERVICES.get(version or "", "elasticache")
    return str(service_model(service).metadata["xmlNamespace"])


# --- parsing ------------------------------------------------------------------------------------


class _Fields:
    """The request's flat fields, with sorted keys for prefix look-ups."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self._form = form
        self._keys = sorted(form)

    def get(self, key: str) -> str | None:
        return self._form.get(key)

    def with_prefix(self, prefix: str) -> Iterator[str]:
        for position in range(bisect_left(self._keys, prefix), len(self._keys)):
            key = self._keys[position]
            if not key.startswith(prefix):
                return
            yield key

    def has_prefix(self, prefix: str) -> bool:
        return next(self.with_prefix(prefix), None) is not None


def parse_params(
    operation: str, form: Mapping[str, str], version: str | None = API_VERSION
) -> dict[str, Any]:
    """Turn flat Query fields into nested values keyed by the model's member names.

    Lists come out ordered by their index; fields the shape does not know are ignored. An empty
    value of an optional scalar member means the member is absent, as AWS reads it (clients such
    as Ansible send ``Name=`` for an option left unset); a required member keeps its empty value
    for the service to judge, and so does an empty item of a list.

    :raises ProtocolError: ``InvalidAction`` for an operation the model lacks,
        ``MissingParameter`` for an absent required member (at any depth),
        ``InvalidParameterValue`` for a value that cannot be converted or breaks the model's
        ``enum``/``min``/``max``/``pattern`` constraints, ``MalformedQueryString`` for a bad list
        index.
    """
    shape = operation_model(operation, version).input_shape
    if shape is None:
        return {}
    parsed = _parse_members(shape, _Fields(form), "")
    _check_required(shape, parsed, "")
    return parsed


def _parse_value(shape: Shape, fields: _Fields, key: str) -> Any:
    """The value at ``key``, or None when the request does not carry it."""
    kind = shape.type_name
    if kind == "structure":
        return _parse_structure(shape, fields, key + ".")
    if kind == "list":
        value: Any = _parse_list(shape, fields, key)
    elif kind == "map":
        value = _parse_map(shape, fields, key)
    else:
        raw = fields.get(key)
        if raw is None:
            return None
        value = _parse_scalar(shape, raw, key)
    if value is not None:
        _check_constraints(shape, value, key)
    return value


def _parse_structure(shape: Shape, fields: _Fields, prefix: str) -> dict[str, Any] | None:
    """A nested structure, or None when none of its known members is present."""
    if not fields.has_prefix(prefix):
        return None
    parsed = _parse_members(shape, fields, prefix)
    if not parsed:
        return None
    _check_required(shape, parsed, prefix)
    return parsed


def _parse_members(shape: Shape, fields: _Fields, prefix: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    required = set(shape.required_members)
    for name, member in shape.members.items():
        key = _member_key(prefix, name, member)
        if name not in required and _is_scalar(member) and fields.get(key) == "":
            continue  # empty means absent
        value = _parse_value(member, fields, key)
        if value is not None:
            parsed[name] = value
    return parsed


def _is_scalar(shape: Shape) -> bool:
    return shape.type_name not in ("structure", "list", "map")


def _check_required(shape: Shape, parsed: Mapping[str, Any], prefix: str) -> None:
    for name in shape.required_members:
        if name not in parsed:
            raise ProtocolError.missing_parameter(_member_key(prefix, name, shape.members[name]))


def _member_key(prefix: str, name: str, member: Shape) -> str:
    """The wire name of a member; a flattened list takes its item's name, as botocore sends."""
    wire_name = member.serialization.get("name", name)
    if member.type_name == "list" and member.serialization.get("flattened"):
        wire_name = member.member.serialization.get("name", wire_name)
    return f"{prefix}{wire_name}"


def _parse_list(shape: Shape, fields: _Fields, key: str) -> list[Any] | None:
    item_prefix = key if shape.serialization.get("flattened") else _list_item_prefix(shape, key)
    indices = _indices(fields, item_prefix)
    if not indices:
        return [] if fields.get(key) == "" else None
    items = (_parse_value(shape.member, fields, f"{item_prefix}.{index}") for index in indices)
    present = [item for item in items if item is not None]
    return present or None


def _list_item_prefix(shape: Shape, key: str) -> str:
    return f"{key}.{shape.member.serialization.get('name', 'member')}"


def _parse_map(shape: Shape, fields: _Fields, key: str) -> dict[Any, Any] | None:
    entry_prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
    indices = _indices(fields, entry_prefix)
    if not indices:
        return {} if fields.get(key) == "" else None
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    parsed: dict[Any, Any] = {}
    for index in indices:
        entry = f"{entry_prefix}.{index}"
        entry_key = _require(
            _parse_value(shape.key, fields, f"{entry}.{key_name}"), entry, key_name
        )
        entry_value = _parse_value(shape.value, fields, f"{entry}.{value_name}")
        parsed[entry_key] = _require(entry_value, entry, value_name)
    return parsed


def _require(value: Any, entry: str, name: str) -> Any:
    if value is None:
        raise ProtocolError.missing_parameter(f"{entry}.{name}")
    return value


_INDEX = re.compile(r"[1-9][0-9]{0,8}")  # 1 to 999,999,999


def _indices(fields: _Fields, item_prefix: str) -> list[int]:
    """The sorted item indices N found under ``item_prefix.N``."""
    found: set[int] = set()
    for field in fields.with_prefix(item_prefix + "."):
        text = field[len(item_prefix) + 1 :].split(".", 1)[0]
        if not _INDEX.fullmatch(text):
            raise ProtocolError.malformed(
                f"The parameter {field} has a malformed list index ({text})."
            )
        found.add(int(text))
    return sorted(found)


# --- scalars -------------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _to_int(bits: int) -> Callable[[str], int]:
    limit = 1 << (bits - 1)

    def convert(raw: str) -> int:
        if not _INTEGER.fullmatch(raw) or not -limit <= int(raw) < limit:
            raise ValueError(f"Must be a {bits}-bit integer.")
        return int(raw)

    return convert


def _to_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise ValueError("Must be true or false.")
    return lowered == "true"


def _to_float(raw: str) -> float:
    if not _DECIMAL.fullmatch(raw) or math.isinf(value := float(raw)):
        raise ValueError("Must be a decimal number.")
    return value


def _to_datetime(raw: str) -> datetime:
    """A timestamp within [`EARLIEST`, `LATEST`], so that the service's date arithmetic on it
    (a window of days around it) cannot overflow."""
    if _DECIMAL.fullmatch(raw):
        try:
            moment = datetime.fromtimestamp(float(raw), UTC)
        except (OverflowError, OSError) as error:
            raise ValueError(_TIMESTAMP) from error
    else:
        moment = datetime.fromisoformat(raw)  # ValueError names nothing useful; caller explains
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(_TIMESTAMP)
    return moment


def _to_bytes(raw: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as error:
        raise ValueError("Must be base64-encoded.") from error


_TIMESTAMP = f"Must be an ISO 8601 timestamp between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}."

_SCALARS: dict[str, tuple[Callable[[str], Any], str]] = {
    "string": (str, ""),
    "boolean": (_to_bool, "Must be true or false."),
    "integer": (_to_int(32), "Must be an integer."),
    "long": (_to_int(64), "Must be an integer."),
    "float": (_to_float, "Must be a decimal number."),
    "double": (_to_float, "Must be a decimal number."),
    "timestamp": (_to_datetime, _TIMESTAMP),
    "blob": (_to_bytes, "Must be base64-encoded."),
}


def _parse_scalar(shape: Shape, raw: str, key: str) -> Any:
    convert, requirement = _SCALARS[shape.type_name]
    try:
        return convert(raw)
    except ValueError:
        raise ProtocolError.invalid_value(key, raw, requirement) from None


# --- constraints of the model --------------------------------------------------------------------


def _check_constraints(shape: Shape, value: Any, key: str) -> None:
    """Enforce the model's ``enum``, ``min``, ``max`` and ``pattern`` traits.

    ``min``/``max`` bound a string's or blob's length, a list's or map's size, a number's value.
    Patterns follow Smithy: a search, not implicitly anchored; one Python cannot compile is skipped.
    """
    metadata = shape.metadata
    enum = metadata.get("enum")
    if enum and value not in enum:
        raise ProtocolError.invalid_value(key, value, f"Must be one of: {', '.join(enum)}.")
    low, high = metadata.get("min"), metadata.get("max")
    if low is not None or high is not None:
        _check_bounds(value, key, low, high)
    pattern = _compiled(metadata.get("pattern"))
    if pattern is not None and isinstance(value, str) and not pattern.search(value):
        raise ProtocolError.invalid_value(key, value, f"Must match the pattern {pattern.pattern}.")


def _check_bounds(value: Any, key: str, low: float | None, high: float | None) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if _outside(value, low, high):
            raise ProtocolError.invalid_value(key, str(value), f"Must be {_bounds(low, high)}.")
    elif isinstance(value, str | bytes | list | dict) and _outside(len(value), low, high):
        unit = "characters long" if isinstance(value, str | bytes) else "items"
        raise ProtocolError(
            "InvalidParameterValue", f"The parameter {key} must have {_bounds(low, high)} {unit}."
        )


def _outside(number: float, low: float | None, high: float | None) -> bool:
    return (low is not None and number < low) or (high is not None and number > high)


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


@functools.cache
def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


# --- rendering -----------------------------------------------------------------------------------


def render_result(
    operation: str, result: Mapping[str, Any], request_id: str, version: str | None = API_VERSION
) -> bytes:
    """Render an operation's result as the Query protocol's XML answer.

    ``result`` is keyed by the output shape's member names; None members are omitted.

    :raises ValueError: for a key the shape does not have, or a result given to an operation
        without output shape (a programming bug).
    :raises TypeError: for a value of the wrong type.
    """
    model = operation_model(operation, version)
    root = ET.Element(f"{operation}Response", xmlns=_namespace(version))
    shape = model.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{operation}Result")
        _render_members(ET.SubElement(root, wrapper), shape, result, wrapper)
    elif result:
        raise ValueError(f"{operation} has no output shape but got members {sorted(result)}")
    metadata = ET.SubElement(root, "ResponseMetadata")
    _text_element(metadata, "RequestId", request_id)
    return _serialize(root)


def render_error(
    code: str,
    message: str,
    request_id: str,
    sender: bool = True,
    version: str | None = API_VERSION,
) -> bytes:
    """Render the Query protocol's ``<ErrorResponse>`` document; the message is `shorten`ed."""
    root = ET.Element("ErrorResponse", xmlns=_namespace(version))
    error = ET.SubElement(root, "Error")
    _text_element(error, "Type", "Sender" if sender else "Receiver")
    _text_element(error, "Code", code)
    _text_element(error, "Message", shorten(message))
    _text_element(root, "RequestId", request_id)
    return _serialize(root)


def _render_members(parent: ET.Element, shape: Shape, value: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{path}: expected a mapping for {shape.name}, got {type(value).__name__}")
    unknown = sorted(set(value) - set(shape.members))
    if unknown:
        raise ValueError(f"{path}: {shape.name} has no member(s) {', '.join(map(str, unknown))}")
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _render_value(parent, _output_name(name, member), member, value[name], f"{path}.{name}")


def _output_name(name: str, member: Shape) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        return str(member.member.serialization.get("name", name))
    return str(member.serialization.get("name", name))


def _render_value(parent: ET.Element, name: str, shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        _render_members(ET.SubElement(parent, name), shape, value, path)
    elif kind == "list":
        _render_list(parent, name, shape, value, path)
    elif kind == "map":
        _render_map(parent, name, shape, value, path)
    else:
        _text_element(parent, name, _scalar_text(kind, value, path))


def _render_list(parent: ET.Element, name: str, shape: Shape, value: Any, path: str) -> None:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise TypeError(f"{path}: expected a sequence, got {type(value).__name__}")
    flattened = bool(shape.serialization.get("flattened"))
    container = parent if flattened else ET.SubElement(parent, name)
    item_name = name if flattened else shape.member.serialization.get("name", "member")
    for index, item in enumerate(value):
        if item is None:
            raise ValueError(f"{path}[{index}]: None in a list")
        _render_value(container, item_name, shape.member, item, f"{path}[{index}]")


def _render_map(parent: ET.Element, name: str, shape: Shape, value: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{path}: expected a mapping, got {type(value).__name__}")
    flattened = bool(shape.serialization.get("flattened"))
    container = parent if flattened else ET.SubElement(parent, name)
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    for key, item in value.items():
        entry = ET.SubElement(container, name if flattened else "entry")
        _render_value(entry, key_name, shape.key, key, f"{path}.key")
        _render_value(entry, value_name, shape.value, item, f"{path}[{key!r}]")


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as AWS writes timestamps.

    :raises ValueError: for a naive datetime (its time zone would be a guess).
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone")
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _scalar_text(kind: str, value: Any, path: str) -> str:
    accepts, write = _WRITERS[kind]
    if not accepts(value):
        raise TypeError(f"{path}: expected a {kind}, got {type(value).__name__} {value!r}")
    return write(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _write_bool(value: bool) -> str:
    return "true" if value else "false"


def _write_blob(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _write_int(value: int) -> str:
    return str(int(value))  # the number itself, also for IntEnum members


def _write_float(value: float) -> str:
    return repr(float(value))


_WRITERS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], str]]] = {
    # str.__str__ gives the text itself, also for (str, Enum) members
    "string": (lambda value: isinstance(value, str), str.__str__),
    "boolean": (lambda value: isinstance(value, bool), _write_bool),
    "integer": (_is_integer, _write_int),
    "long": (_is_integer, _write_int),
    "float": (_is_number, _write_float),
    "double": (_is_number, _write_float),
    "timestamp": (lambda value: isinstance(value, datetime), format_timestamp),
    "blob": (lambda value: isinstance(value, bytes), _write_blob),
}


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text_element(parent: ET.Element, name: str, text: str) -> None:
    """Add ``<name>text</name>``; characters XML 1.0 cannot carry become U+FFFD."""
    ET.SubElement(parent, name).text = _NOT_XML.sub("\ufffd", text)


def _serialize(root: ET.Element) -> bytes:
    text = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}'.encode()
