"""``cachefleet iam-token``: a token an IAM user signs in with (``AUTH <user> <token>``), made
locally as ElastiCache's documented example makes one, with the caller's AWS credentials
(botocore's chain: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, …)."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import click

from cachefleet.cli.context import Invocation, pass_invocation
from cachefleet.cli.errors import CliError
from cachefleet.model.iam import IamUser, SigningKey, iam_token


@click.command(name="iam-token")
@click.option("--cache", required=True, help="The replication group or cache cluster id.")
@click.option("--user", required=True, help="The IAM user's id (its user name too).")
@pass_invocation
def iam_token_command(invocation: Invocation, cache: str, user: str) -> None:
    """Print a token for an IAM user of a cache, valid 15 minutes, signed with your credentials
    for the global --region."""
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise CliError("No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
    frozen = credentials.get_frozen_credentials()
    key = SigningKey(frozen.access_key, frozen.secret_key)
    token = iam_token(IamUser(user, cache.lower(), invocation.region), key, datetime.now(UTC))
    invocation.stdout.print(token, highlight=False, soft_wrap=True)
