"""IAM authentication tokens: made as ElastiCache's documented botocore example makes them,
and the window of them a node accepts, moved forward by signing only the seconds added."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import botocore.session
from botocore.credentials import Credentials
from botocore.model import ServiceId
from botocore.signers import RequestSigner

from cachefleet.model import iam
from cachefleet.model.iam import IamUser, SigningKey, TokenDigests, iam_token, token_digest, window

SESSION = botocore.session.get_session()  # the signer holds its event emitter weakly
USER = IamUser("app", "orders", "us-east-1")
KEY = SigningKey("AKIAEXAMPLEKEY000001", "secret/one")
OTHER = SigningKey("AKIAEXAMPLEKEY000002", "secret/two")
NOW = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)


def documented_token(user: str, cache: str, key: SigningKey, region: str) -> str:
    """A token as ElastiCache's documentation makes one with botocore (at botocore's now)."""
    signer = RequestSigner(
        ServiceId("elasticache"), region, "elasticache", "v4",
        Credentials(key.access_key_id, key.secret_access_key),
        SESSION.get_component("event_emitter"),
    )  # fmt: skip
    url = signer.generate_presigned_url(
        {"method": "GET", "url": f"https://{cache}/?Action=connect&User={user}", "body": {},
         "headers": {}, "context": {}},
        operation_name="connect", expires_in=900, region_name=region,
    )  # fmt: skip
    return str(url).removeprefix("https://")


def test_a_token_is_the_one_the_documented_example_makes_at_that_second() -> None:
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        documented = documented_token("app", "orders", KEY, "us-east-1")
    assert iam_token(USER, KEY, NOW) == documented
    assert documented.startswith("orders/?Action=connect&User=app&X-Amz-Algorithm=AWS4-HMAC")
    assert "X-Amz-Date=20261130T120030Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host" in documented
    assert iam_token(USER, OTHER, NOW) != documented
    assert iam_token(USER, KEY, NOW + timedelta(seconds=1)) != documented


def test_the_window_covers_15_minutes_back_and_the_skew_ahead() -> None:
    seconds = window(NOW)
    now = int(NOW.timestamp())
    assert now - iam.TOKEN_LIFETIME_S in seconds
    assert now + iam.CLOCK_SKEW_S in seconds
    assert now - iam.TOKEN_LIFETIME_S - iam.ROLL_PERIOD_S not in seconds
    assert now + iam.CLOCK_SKEW_S + 2 * iam.ROLL_PERIOD_S not in seconds
    # Anywhere in the roll period, the window is the same.
    assert window(NOW + timedelta(seconds=29)) == seconds


def test_rolling_forward_signs_only_the_seconds_added() -> None:
    digests = TokenDigests()
    calls: list[datetime] = []
    real = iam.iam_token

    def counted(user: IamUser, key: SigningKey, at: datetime) -> str:
        calls.append(at)
        return real(user, key, at)

    with mock.patch.object(iam, "iam_token", counted):
        first = digests.accepted((USER,), (KEY,), NOW)["app"]
        assert len(first) == len(window(NOW)) == len(calls)
        calls.clear()
        later = NOW + timedelta(seconds=iam.ROLL_PERIOD_S)
        second = digests.accepted((USER,), (KEY,), later)["app"]
    assert len(calls) == iam.ROLL_PERIOD_S
    assert len(first - second) == len(second - first) == iam.ROLL_PERIOD_S
    assert token_digest(iam_token(USER, KEY, NOW)) in second


def test_every_key_pair_of_the_account_signs_and_a_dropped_one_is_forgotten() -> None:
    digests = TokenDigests()
    both = digests.accepted((USER,), (KEY, OTHER), NOW)["app"]
    assert token_digest(iam_token(USER, OTHER, NOW)) in both
    one = digests.accepted((USER,), (KEY,), NOW)["app"]
    assert token_digest(iam_token(USER, OTHER, NOW)) not in one
    assert len(one) == len(window(NOW))
