"""Signature Version 4 on API requests, when authentication is on.

The signature a request carries is computed again with botocore's own SigV4 signer over the
request as received (its method, path, query, the headers it says it signed, and its body),
with the secret of the access key it names, and compared in constant time. Refusals are AWS's:
``MissingAuthenticationToken``, ``IncompleteSignature``, ``InvalidClientTokenId``,
``SignatureDoesNotMatch``, ``RequestExpired``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.requests import Request

from cachefleet.access_keys import AccessKey
from cachefleet.api.protocol import ProtocolError

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
#: The services whose actions this endpoint answers, as credential scopes name them.
SIGNED_SERVICES = frozenset({"elasticache", "sts"})
_FIELD = re.compile(r"(\w+)=([^,\s]*)")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AMZ_STAMP = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")

KeyLookup = Callable[[str], AccessKey | None]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What of a received request its signature covers."""

    method: str
    url: str  # scheme://host/path?query, the query as received
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def received_request(request: Request, query: bytes, body: bytes) -> SignedRequest:
    """A received request as its signer saw it: the query string exactly as received (read off
    the ASGI scope: building Starlette's URL and header objects costs more than the check)."""
    scope = request.scope
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    url = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}{scope['path']}"
    if query:
        url += "?" + query.decode("latin-1")
    return SignedRequest(scope["method"], url, headers, body)


class SignatureVerifier:
    """Checks the SigV4 signature of API requests against the configured key pairs."""

    def __init__(self, lookup: KeyLookup, clock: Callable[[], datetime] | None = None) -> None:
        self._lookup = lookup
        self._clock = clock or (lambda: datetime.now(UTC))

    def verify(self, request: SignedRequest) -> AccessKey:
        """The key pair that signed the request.

        :raises ProtocolError: AWS's refusal when the request is unsigned, signed badly, by an
            unknown key, with another secret, or too long ago.
        """
        authorization = request.headers.get("authorization")
        if authorization is None and "X-Amz-Signature=" in request.url:
            raise _incomplete(
                "Presigned API requests are not accepted here: sign with the Authorization header."
            )
        if authorization is None:
            raise _missing_token()
        fields = _authorization_fields(authorization)
        key_id, date, region, service = _credential_scope(fields["Credential"])
        key = self._lookup(key_id)
        if key is None:
            raise ProtocolError(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403,
            )
        amz_date = request.headers.get("x-amz-date", "")
        self._check_time(amz_date, date)
        if service not in SIGNED_SERVICES:
            raise _mismatch(f"Credential should be scoped to correct service: {service!r}.")
        signed = fields["SignedHeaders"].split(";")
        expected = _signature(request, signed, key, region, service, amz_date)
        if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
            raise _mismatch(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details."
            )
        return key

    def _check_time(self, amz_date: str, scope_date: str) -> None:
        stamp = _AMZ_STAMP.fullmatch(amz_date)
        try:
            if stamp is None:
                raise ValueError(amz_date)
            year, month, day, hour, minute, second = (int(part) for part in stamp.groups())
            signed_at = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise _incomplete("Authorization header requires a valid X-Amz-Date header.") from None
        if not amz_date.startswith(scope_date):
            raise _mismatch(
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        now = self._clock()
        if abs(now - signed_at) > MAX_SKEW:
            raise ProtocolError(
                "RequestExpired",
                f"Request has expired: it was signed at {amz_date}, and it is now "
                f"{now.strftime(_AMZ_DATE)} (at most {MAX_SKEW.seconds // 60} minutes apart).",
                400,
            )


class _ReceivedRequestSigner(SigV4Auth):  # type: ignore[misc]  # botocore is untyped
    """botocore's SigV4 signer, over a request as received: the body's hash is taken from the
    bytes at hand (botocore would prepare a whole HTTP request to find them), and the day's
    signing key, the same for every request of a key pair, region and service that day, is
    derived once."""

    def __init__(self, credentials: Credentials, service: str, region: str, body: bytes) -> None:
        super().__init__(credentials, service, region)
        self._body = body

    def payload(self, request: AWSRequest) -> str:
        return hashlib.sha256(self._body).hexdigest()

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        day = request.context["timestamp"][0:8]
        key = _signing_key(self.credentials.secret_key, day, self._region_name, self._service_name)
        return str(self._sign(key, string_to_sign, hex=True))


@functools.lru_cache(maxsize=1024)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """SigV4's derived key: the secret HMAC-SHA256-chained with the day, region, service and
    ``aws4_request``, as botocore's `SigV4Auth.signature` derives it."""
    key = b"AWS4" + secret.encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _signature(
    request: SignedRequest,
    signed_headers: list[str],
    key: AccessKey,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The signature botocore's signer gives the request with this key's secret."""
    headers = {name: request.headers.get(name, "") for name in signed_headers}
    rebuilt = AWSRequest(method=request.method, url=request.url, headers=headers)
    rebuilt.context["timestamp"] = amz_date
    credentials = Credentials(key.access_key_id, key.secret_access_key)
    signer = _ReceivedRequestSigner(credentials, service, region, request.body)
    canonical = signer.canonical_request(rebuilt)
    return str(signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt))


def _authorization_fields(authorization: str) -> dict[str, str]:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(
            f"Authorization header uses an unsupported algorithm: use {ALGORITHM} "
            "(Signature Version 4)."
        )
    fields = dict(_FIELD.findall(rest))
    missing = [
        name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)
    ]
    if missing:
        raise _incomplete(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={authorization[:64]}"
        )
    return fields


def _credential_scope(credential: str) -> tuple[str, str, str, str]:
    """(access key id, date, region, service) of a credential such as
    ``AKID/20261130/us-east-1/elasticache/aws4_request``."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise _incomplete(
            f"Credential should be scoped to a valid region, not '{credential[:128]}'. "
            "Expected ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request."
        )
    return parts[0], parts[1], parts[2], parts[3]


def _missing_token() -> ProtocolError:
    return ProtocolError(
        "MissingAuthenticationToken", "Request is missing Authentication Token", 403
    )


def _incomplete(message: str) -> ProtocolError:
    return ProtocolError("IncompleteSignature", message, 400)


def _mismatch(message: str) -> ProtocolError:
    return ProtocolError("SignatureDoesNotMatch", message, 403)
