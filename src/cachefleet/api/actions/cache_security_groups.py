"""The EC2-Classic cache security group actions, answered as ElastiCache answers them for an
account whose caches all run in a VPC: every cachefleet cache is in a subnet group, so none of
these can be used (VPC security groups, ``SecurityGroupIds``, are what controls access there).

They are answered, not left ``NotImplemented``: tools that probe them (Terraform's refresh of an
``aws_elasticache_security_group``, inventory scripts) get the same error as on AWS.
"""

from __future__ import annotations

from typing import Any, NoReturn

from cachefleet.api.app import ApiRequest
from cachefleet.errors import cache_security_groups_not_permitted
from cachefleet.service.context import ServiceContext

#: The request parameter that names cache security groups on the caches' own actions.
CACHE_SECURITY_GROUP_NAMES = "CacheSecurityGroupNames"


def refuse_cache_security_groups(params: dict[str, Any]) -> None:
    """Refuse ``CacheSecurityGroupNames`` on a cache's create or modify (an empty list passes).

    :raises InvalidParameter: with ElastiCache's text for accounts without EC2-Classic.
    """
    if params.get(CACHE_SECURITY_GROUP_NAMES):
        raise cache_security_groups_not_permitted(CACHE_SECURITY_GROUP_NAMES)


async def _not_permitted(ctx: ServiceContext, request: ApiRequest) -> NoReturn:
    raise cache_security_groups_not_permitted()


create_cache_security_group = _not_permitted
describe_cache_security_groups = _not_permitted
delete_cache_security_group = _not_permitted
authorize_cache_security_group_ingress = _not_permitted
revoke_cache_security_group_ingress = _not_permitted
