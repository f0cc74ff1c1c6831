"""Reading a posted form: URL-encoded text fields only, bounded in size and count.

The console's forms carry no files, so the body is decoded with the standard library rather
than a multipart parser. A repeated field keeps its last value.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from cachefleet.errors import InvalidParameter

MAX_FORM_BYTES = 256 * 1024
MAX_FIELDS = 1000
URLENCODED = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields (Starlette keeps the body, so reading twice is cheap).

    :raises InvalidParameter: the body is not a URL-encoded form, or is too large to be one.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != URLENCODED:
        raise InvalidParameter("The console takes forms sent URL-encoded.")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise InvalidParameter("The form is too large.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidParameter("The form is too large.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise InvalidParameter("The form could not be read.") from None
    return dict(pairs)
