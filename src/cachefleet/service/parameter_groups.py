"""Cache parameter groups: create, describe, modify, reset, delete; their parameters and the
families' defaults; and the switch of a cache to another group.

The families' default groups are built in and read-only. A change to a user group wakes the
loop of every cache using it; the loop gives their nodes the new values (`reconcile.parameters`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from cachefleet.errors import (
    AlreadyExists,
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    QuotaExceeded,
    parameter_group_not_found,
)
from cachefleet.model import events as texts
from cachefleet.model.engines import REDIS, family_of
from cachefleet.model.ids import ArnType, ResourceKind, Scope, arn, validate_identifier
from cachefleet.model.parameters import (
    FAMILIES,
    MAX_PARAMETERS_PER_CALL,
    WHILE_UNUSED,
    ParameterDef,
    ParameterGroup,
    Source,
    default_group,
    default_group_names,
    defaults_of,
    definitions,
    value_problem,
)
from cachefleet.model.spec import GroupSpec, Tag
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service.checks import default_parameter_group
from cachefleet.service.context import ServiceContext
from cachefleet.service.tags import check_tags

MAX_NAME = 255
MAX_DESCRIPTION = 255
MAX_GROUPS = 300  # parameter groups per region, ElastiCache's quota


@dataclass(frozen=True, slots=True)
class ParameterView:
    """One parameter of a group (or of a family's defaults) with its value and source."""

    definition: ParameterDef
    value: str
    source: Source


def parameter_group_arn(scope: Scope, name: str) -> str:
    """The ARN of a cache parameter group."""
    return arn(scope, ArnType.PARAMETER_GROUP, name)


def find_group(ctx: ServiceContext, scope: Scope, name: str) -> ParameterGroup:
    """A parameter group by name: a family's default or a user group.

    :raises NotFound: CacheParameterGroupNotFound.
    """
    found = default_group(scope, name) or ctx.store.get_parameter_group(scope, name.lower())
    if found is None:
        raise parameter_group_not_found(name)
    return found


def list_groups(ctx: ServiceContext, scope: Scope, name: str | None = None) -> list[ParameterGroup]:
    """Every parameter group of the scope (defaults first), or the one named."""
    if name:
        return [find_group(ctx, scope, name)]
    defaults = [default_group(scope, n) for n in default_group_names()]
    return [g for g in defaults if g is not None] + ctx.store.list_parameter_groups(scope)


def create_group(
    ctx: ServiceContext,
    scope: Scope,
    name: str,
    family: str,
    description: str,
    tags: Sequence[Tag] = (),
) -> ParameterGroup:
    """Create a user group with its family's default values.

    :raises InvalidParameter, AlreadyExists, QuotaExceeded: nothing is written.
    """
    checked = _check_name(name)
    if family not in FAMILIES:
        raise InvalidParameter(
            f"The parameter CacheParameterGroupFamily is not a valid family: {family}. "
            f"Valid families here: {', '.join(FAMILIES)}.",
            parameter="CacheParameterGroupFamily",
            problem="unknown",
        )
    if len(description) > MAX_DESCRIPTION:
        raise InvalidParameter(
            f"Description must be at most {MAX_DESCRIPTION} characters.",
            parameter="Description",
            problem="too-long",
            facts={"max": MAX_DESCRIPTION},
        )
    valid_tags = check_tags(tags)
    group = ParameterGroup(
        scope, checked, family, description, defaults_of(family, False), created_at=ctx.clock()
    )
    with ctx.store.transaction():
        if ctx.store.get_parameter_group(scope, checked) is not None:
            raise AlreadyExists(
                f"Parameter group {checked} already exists.",
                Kind.PARAMETER_GROUP,
                parameter="CacheParameterGroupName",
                problem="taken",
                facts={"name": checked},
            )
        if len(ctx.store.list_parameter_groups(scope)) >= MAX_GROUPS:
            raise QuotaExceeded(
                f"The maximum number of cache parameter groups ({MAX_GROUPS}) has been reached.",
                quota="parameter-groups-per-region",
                facts={"max": MAX_GROUPS},
            )
        ctx.store.put_parameter_group(group)
        _record(ctx, scope, checked, texts.parameter_group_created(checked))
        if valid_tags:
            ctx.store.put_tags(parameter_group_arn(scope, checked), valid_tags)
    return group


def _check_name(name: str) -> str:
    if name.lower().startswith("default."):
        raise InvalidParameter(
            "The parameter CacheParameterGroupName must not begin with default.: names beginning "
            "with default. are reserved for the default parameter groups.",
            parameter="CacheParameterGroupName",
            problem="reserved",
        )
    return validate_identifier(name, "CacheParameterGroupName", MAX_NAME)


def modify_group(
    ctx: ServiceContext, scope: Scope, name: str, values: Sequence[tuple[str, str]]
) -> ParameterGroup:
    """Set parameters of a user group (at most 20 a call); every cache using it gets them.

    :raises NotFound, InvalidState, InvalidParameter, InvalidParameterCombination: nothing is
        written when any is raised.
    """
    if len(values) > MAX_PARAMETERS_PER_CALL:
        raise InvalidParameterCombination(
            f"Cannot modify more than {MAX_PARAMETERS_PER_CALL} parameters in a single request"
        )
    if not values:
        raise InvalidParameter(
            "The parameter ParameterNameValues must be provided and must not be empty.",
            parameter="ParameterNameValues",
            problem="required",
        )
    with ctx.store.transaction():
        group = _writable(ctx, scope, name, "modified")
        known = definitions(group.family)
        for parameter, value in values:
            problem = _modify_problem(known.get(parameter), parameter, value)
            if problem is not None:
                raise InvalidParameter(problem, parameter="ParameterNameValues", problem="value")
        changed = dict(values)
        _check_unused(ctx, scope, group.name, changed)
        user = tuple(sorted({*group.user, *changed}))
        group = replace(group, values={**group.values, **changed}, user=user)
        ctx.store.put_parameter_group(group)
        for parameter, value in values:
            _record(ctx, scope, group.name, texts.parameter_updated(parameter, value))
    _wake_users(ctx, scope, group.name)
    return group


def _check_unused(ctx: ServiceContext, scope: Scope, name: str, changed: Iterable[str]) -> None:
    fixed = sorted(WHILE_UNUSED & set(changed))
    if fixed and users_of(ctx, scope, name):
        raise InvalidParameter(
            f"The parameter {fixed[0]} can be modified only while no cache uses parameter group "
            f"{name}.",
            parameter="ParameterNameValues",
            problem="in-use",
        )


def _modify_problem(definition: ParameterDef | None, name: str, value: str) -> str | None:
    if definition is None:
        return f"Could not find parameter with name: {name}"
    if not definition.modifiable:
        return f"The parameter {name} cannot be modified."
    return value_problem(definition, value)


def reset_group(
    ctx: ServiceContext, scope: Scope, name: str, reset_all: bool, names: Sequence[str]
) -> ParameterGroup:
    """Put parameters of a user group back to their family's defaults: all, or those named.

    :raises NotFound, InvalidState, InvalidParameter, InvalidParameterCombination:
    """
    if reset_all and names:
        raise InvalidParameterCombination(
            "ResetAllParameters and ParameterNameValues cannot be given together."
        )
    if not reset_all and not names:
        raise InvalidParameter(
            "ParameterNameValues must be given when ResetAllParameters is not true.",
            parameter="ParameterNameValues",
            problem="required",
        )
    if len(names) > MAX_PARAMETERS_PER_CALL:
        raise InvalidParameterCombination(
            f"Cannot modify more than {MAX_PARAMETERS_PER_CALL} parameters in a single request"
        )
    with ctx.store.transaction():
        group = _writable(ctx, scope, name, "modified")
        known = definitions(group.family)
        for parameter in names:
            definition = known.get(parameter)
            problem = _modify_problem(
                definition, parameter, definition.default if definition else ""
            )
            if problem is not None:
                raise InvalidParameter(problem, parameter="ParameterNameValues", problem="value")
        chosen = set(known) if reset_all else set(names)
        if reset_all:
            chosen -= WHILE_UNUSED  # a reset keeps the group's cluster mode
        _check_unused(ctx, scope, group.name, list(chosen))
        defaults = defaults_of(group.family, False)
        values = {**group.values, **{n: defaults[n] for n in chosen if n in defaults}}
        user = tuple(n for n in group.user if n not in chosen)
        group = replace(group, values=values, user=user)
        ctx.store.put_parameter_group(group)
        if reset_all:
            _record(ctx, scope, group.name, texts.parameters_reset())
        for parameter in names:
            _record(ctx, scope, group.name, texts.parameter_updated(parameter, values[parameter]))
    _wake_users(ctx, scope, group.name)
    return group


def delete_group(ctx: ServiceContext, scope: Scope, name: str) -> None:
    """Delete a user group that no cache uses.

    :raises NotFound, InvalidState: InvalidCacheParameterGroupState for a default group or a
        group in use.
    """
    with ctx.store.transaction():
        group = _writable(ctx, scope, name, "deleted")
        users = users_of(ctx, scope, group.name)
        if users:
            raise InvalidState(
                f"Parameter group {group.name} is in use by {users[0].spec.group_id} and cannot "
                "be deleted.",
                Kind.PARAMETER_GROUP,
            )
        ctx.store.delete_parameter_group(scope, group.name)
        ctx.store.remove_tags(parameter_group_arn(scope, group.name))
        _record(ctx, scope, group.name, texts.parameter_group_deleted(group.name))


def _record(ctx: ServiceContext, scope: Scope, name: str, message: str) -> None:
    ctx.record_event(scope, ResourceKind.PARAMETER_GROUP, name, message)


def _writable(ctx: ServiceContext, scope: Scope, name: str, verb: str) -> ParameterGroup:
    group = find_group(ctx, scope, name)
    if group.is_default:
        raise InvalidState(
            f"Default parameter group {group.name} cannot be {verb}.", Kind.PARAMETER_GROUP
        )
    return group


def users_of(ctx: ServiceContext, scope: Scope, name: str) -> list[GroupRecord]:
    """The caches (replication groups, standalone cache clusters) that use a parameter group."""
    return [r for r in ctx.store.list_groups(scope) if r.spec.parameter_group == name]


def _wake_users(ctx: ServiceContext, scope: Scope, name: str) -> None:
    for record in users_of(ctx, scope, name):
        ctx.wake(scope, record.spec.key)


def parameters(
    ctx: ServiceContext, scope: Scope, name: str, source: str | None = None
) -> list[ParameterView]:
    """A group's parameters, optionally only those of one ``Source``.

    :raises NotFound, InvalidParameter:
    """
    group = find_group(ctx, scope, name)
    wanted = _source(source)
    views = [
        ParameterView(d, group.values.get(n, d.default), group.source(n))
        for n, d in definitions(group.family).items()
    ]
    return [v for v in views if wanted is None or v.source is wanted]


def _source(source: str | None) -> Source | None:
    if source is None:
        return None
    try:
        return Source(source)
    except ValueError:
        raise InvalidParameter(
            f"Invalid Source: {source}. Valid values: user, system, engine-default.",
            parameter="Source",
            problem="unknown",
        ) from None


def engine_defaults(family: str) -> list[ParameterView]:
    """A family's parameters with their default values (DescribeEngineDefaultParameters).

    :raises InvalidParameter: for a family cachefleet does not know.
    """
    if family not in FAMILIES:
        raise InvalidParameter(
            f"Invalid parameter group family: {family}. Valid families here: "
            f"{', '.join(FAMILIES)}.",
            parameter="CacheParameterGroupFamily",
            problem="unknown",
        )
    group = default_group(Scope("", ""), f"default.{family}")
    assert group is not None
    return [
        ParameterView(d, group.values[n], group.source(n)) for n, d in definitions(family).items()
    ]


def groups_for(
    ctx: ServiceContext, scope: Scope, version: str, mode: ClusterMode, engine: str = REDIS
) -> list[str]:
    """The names of the groups a cache of this engine version and cluster mode can use."""
    on = mode.clustered
    return [
        g.name
        for g in list_groups(ctx, scope)
        if g.family == family_of(version, engine) and g.cluster_enabled == on
    ]


def check_parameter_group(
    ctx: ServiceContext,
    scope: Scope,
    name: str | None,
    version: str,
    mode: ClusterMode,
    engine: str = REDIS,
) -> str:
    """The parameter group a new cache uses: the family's default when none is named.

    :raises NotFound, InvalidParameterCombination:
    """
    if name is None:
        return default_parameter_group(version, mode, engine)
    return check_for_cache(ctx, scope, name, version, mode, engine).name


def check_for_cache(
    ctx: ServiceContext,
    scope: Scope,
    name: str,
    version: str,
    mode: ClusterMode,
    engine: str = REDIS,
) -> ParameterGroup:
    """The group a cache of this engine version and cluster mode may use.

    :raises NotFound, InvalidParameterCombination: with ElastiCache's messages.
    """
    group = find_group(ctx, scope, name)
    family = family_of(version, engine)
    if group.family != family:
        raise InvalidParameterCombination(
            f"Expected a parameter group of family {family} but found one of family {group.family}",
            parameter="CacheParameterGroupName",
            problem="family",
            facts={"expected": family, "found": group.family},
        )
    on = mode.clustered
    if group.cluster_enabled != on:
        raise InvalidParameterCombination(
            f"Parameter group {group.name} has cluster-enabled "
            f"{'yes' if group.cluster_enabled else 'no'}, which does not match the requested "
            "cluster mode.",
            parameter="CacheParameterGroupName",
            problem="cluster-mode",
        )
    return group


def switch_parameter_group(
    ctx: ServiceContext, scope: Scope, spec: GroupSpec, name: str
) -> GroupSpec:
    """The spec of a cache that now uses parameter group ``name``: checked, written, and the
    cache's loop woken, which gives its nodes the group's immediate values and marks the
    reboot-only ones pending (`reconcile.parameters`). For ModifyReplicationGroup /
    ModifyCacheCluster's ``CacheParameterGroupName``.

    :raises NotFound, InvalidParameterCombination:
    """
    group = check_for_cache(ctx, scope, name, spec.engine_version, spec.cluster_mode, spec.engine)
    switched = replace(spec, parameter_group=group.name)
    with ctx.store.transaction():
        ctx.store.update_spec(switched)
        for node in switched.live_nodes:
            message = texts.parameter_group_switched(group.name)
            ctx.record_event(
                scope, ResourceKind.CACHE_CLUSTER, node.node_id, message, switched.notified_topic
            )
    ctx.wake(scope, spec.key)
    return switched
