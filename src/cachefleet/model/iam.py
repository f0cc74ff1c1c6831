"""IAM authentication tokens, and the set of them a node accepts right now.

A client of an IAM user signs in with ``AUTH <user id> <token>``, the token being a SigV4
presigned URL without its scheme, as ElastiCache's documented Python example makes it with
botocore's ``RequestSigner.generate_presigned_url``::

    <cache>/?Action=connect&User=<user id>&X-Amz-Algorithm=AWS4-HMAC-SHA256
    &X-Amz-Credential=<key id>%2F<day>%2F<region>%2Felasticache%2Faws4_request
    &X-Amz-Date=<yyyymmddThhmmssZ>&X-Amz-Expires=900&X-Amz-SignedHeaders=host
    &X-Amz-Signature=<hex>

Redis OSS 7.0 has no hook to check a password, so the token is not checked when it arrives:
for every second a client may have signed at (the `TokenWindow` around now), the tokens that
every configured key pair of the cache's account would make are computed here, with botocore's
own SigV4 query signer, and the node gets their SHA-256 digests as the IAM user's passwords.
Redis then checks AUTH itself, as for any password: nothing stands between other clients and
the node. The window moves forward every `ROLL_PERIOD_S`; its seconds are kept, so each move
signs only the seconds added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "elasticache"
#: A token is valid this long after its X-Amz-Date (ElastiCache's 15 minutes).
TOKEN_LIFETIME_S = 900
#: How often the accepted tokens move forward.
ROLL_PERIOD_S = 60
#: How far ahead of the node's clock a client's X-Amz-Date may be.
CLOCK_SKEW_S = 60
#: ElastiCache closes an IAM user's connection after 12 hours.
MAX_CONNECTION_AGE_S = 12 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key pair that may sign tokens (one of the configured access keys of the account)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class IamUser:
    """An IAM user of a cache, as its tokens name it: its id (= its user name), the cache's
    name (its id, lower-cased) and region."""

    user_id: str
    cache_name: str
    region: str


class _SignedAt(SigV4QueryAuth):  # type: ignore[misc]  # botocore is untyped
    """botocore's SigV4 query signer, signing at a given second instead of now."""

    def __init__(self, credentials: Credentials, region: str, amz_date: str) -> None:
        super().__init__(credentials, SERVICE, region, expires=TOKEN_LIFETIME_S)
        self._amz_date = amz_date

    def _modify_request_before_signing(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._amz_date
        super()._modify_request_before_signing(request)


def iam_token(user: IamUser, key: SigningKey, signed_at: datetime) -> str:
    """The token ``key`` makes for ``user`` at ``signed_at`` (to the second), exactly as
    ``RequestSigner.generate_presigned_url`` makes it, the scheme left off."""
    request = AWSRequest(
        method="GET",
        url=f"https://{user.cache_name}/",
        params={"Action": "connect", "User": user.user_id},
    )
    credentials = Credentials(key.access_key_id, key.secret_access_key)
    _SignedAt(credentials, user.region, signed_at.astimezone(UTC).strftime(_AMZ_DATE)).add_auth(
        request
    )
    return str(request.prepare().url).removeprefix("https://")


def token_digest(token: str) -> str:
    """A token as a node keeps it: its SHA-256 (Redis's ``#<hex>`` password)."""
    return hashlib.sha256(token.encode()).hexdigest()


def window(now: datetime) -> range:
    """The seconds (since the epoch) a token accepted at some moment of ``now``'s roll period may
    have been signed at: from the period's start less the token's lifetime, to the next
    period's end plus `CLOCK_SKEW_S` (one period more, so a roll that comes late loses no
    token). A token is so accepted from at least `CLOCK_SKEW_S` (at most 3 minutes) before its
    X-Amz-Date until at least 15 (at most 16, plus a late roll's delay) minutes after it."""
    start = int(now.timestamp()) // ROLL_PERIOD_S * ROLL_PERIOD_S
    return range(start - TOKEN_LIFETIME_S, start + 2 * ROLL_PERIOD_S + CLOCK_SKEW_S)


class TokenDigests:
    """The digests of the tokens a cache's IAM users are accepted with now, per user and key
    pair; each second is signed once and kept while it is in the window."""

    def __init__(self) -> None:
        self._signed: dict[tuple[IamUser, SigningKey], dict[int, str]] = {}

    def accepted(
        self, users: Sequence[IamUser], keys: Iterable[SigningKey], now: datetime
    ) -> dict[str, frozenset[str]]:
        """By user id, the digests of every token ``keys`` make for the user within `window`
        (``now``). Users and key pairs not named any more are forgotten."""
        seconds = window(now)
        pairs = [(user, key) for user in users for key in keys]
        self._signed = {pair: self._signed.get(pair, {}) for pair in pairs}
        found: dict[str, set[str]] = {user.user_id: set() for user in users}
        for (user, key), kept in self._signed.items():
            for second in [s for s in kept if s not in seconds]:
                del kept[second]
            for second in seconds:
                if second not in kept:
                    at = datetime.fromtimestamp(second, UTC)
                    kept[second] = token_digest(iam_token(user, key, at))
            found[user.user_id].update(kept.values())
        return {user_id: frozenset(digests) for user_id, digests in found.items()}
