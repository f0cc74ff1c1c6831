"""What the IAM integration tests share: an account, the control user's password, a key pair
that signs tokens, and a user group of a default user (off) and an IAM user ``svc``."""

from __future__ import annotations

from cachefleet.model.iam import SigningKey
from cachefleet.model.ids import Scope
from cachefleet.model.users import AuthenticationType, User

SCOPE = Scope("us-east-1", "000000000000")
SECRET = "control-secret-0123456789abcdef"
KEY = SigningKey("AKIAEXAMPLEKEY000001", "secret/one")


def iam_users(svc_access: str) -> list[User]:
    """The default user (off) and the IAM user ``svc`` with this access string."""
    return [
        User(SCOPE, "default", "default", "redis", "off -@all", (), AuthenticationType.NO_PASSWORD),
        User(SCOPE, "svc", "svc", "redis", svc_access, (), AuthenticationType.IAM),
    ]
