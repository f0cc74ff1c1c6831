"""``cachefleet topics`` (the topic registry: topics and their webhook subscribers) and
``cachefleet notifications`` (event notifications and their delivery: list, retry), through the
daemon's ``/notifications/…`` JSON surface."""

from __future__ import annotations

import click
from rich.table import Table

from cachefleet.cli.client import JsonObject, JsonValue, objects
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.render import NONE, print_json
from cachefleet.cli.surfaces import daemon_json

STATUSES = ("pending", "delivered", "undeliverable")


def call(
    invocation: Invocation, method: str, path: str, body: JsonObject | None = None
) -> JsonObject:
    """One request to ``/notifications/<path>``; its JSON answer."""
    return daemon_json(invocation, method, f"/notifications/{path}", body)


@click.group()
def topics() -> None:
    """Notification topics: create, list, subscribe webhooks, delete."""


@topics.command(name="create")
@click.argument("name")
@pass_invocation
def create_topic(invocation: Invocation, name: str) -> None:
    """Register a topic NAME in the caller's region and account (those of its credentials, as
    for API calls); prints its ARN (give it to a cache as NotificationTopicArn)."""
    body: JsonObject = {"Name": name}
    topic = call(invocation, "POST", "topics", body).get("Topic")
    click.echo(topic.get("TopicArn") if isinstance(topic, dict) else "")


@topics.command(name="list")
@output_option
@pass_invocation
def list_topics(invocation: Invocation) -> None:
    """List the topics and their subscribers."""
    found = objects(call(invocation, "GET", "topics").get("Topics"))
    if invocation.wants_json:
        print_json({"Topics": list[JsonValue](found)})
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("TOPIC ARN", no_wrap=True)
    table.add_column("SUBSCRIBERS", overflow="fold")
    for topic in found:
        subscribers = topic.get("Subscribers")
        names = ", ".join(str(s) for s in subscribers) if isinstance(subscribers, list) else ""
        table.add_row(str(topic.get("TopicArn")), names or NONE)
    invocation.stdout.print(table)


@topics.command(name="subscribe")
@click.argument("topic_arn")
@click.argument("endpoint")
@pass_invocation
def subscribe(invocation: Invocation, topic_arn: str, endpoint: str) -> None:
    """Send TOPIC_ARN's notifications to the http(s) webhook ENDPOINT."""
    call(invocation, "POST", "subscriptions", {"TopicArn": topic_arn, "Endpoint": endpoint})
    click.echo(f"subscribed {endpoint} to {topic_arn}")


@topics.command(name="unsubscribe")
@click.argument("topic_arn")
@click.argument("endpoint")
@pass_invocation
def unsubscribe(invocation: Invocation, topic_arn: str, endpoint: str) -> None:
    """Stop sending TOPIC_ARN's notifications to ENDPOINT."""
    body: JsonObject = {"TopicArn": topic_arn, "Endpoint": endpoint}
    call(invocation, "POST", "subscriptions/delete", body)
    click.echo(f"unsubscribed {endpoint} from {topic_arn}")


@topics.command(name="delete")
@click.argument("topic_arn")
@pass_invocation
def delete_topic(invocation: Invocation, topic_arn: str) -> None:
    """Delete a topic from the registry."""
    call(invocation, "POST", "topics/delete", {"TopicArn": topic_arn})
    click.echo(f"deleted {topic_arn}")


@click.group()
def notifications() -> None:
    """Event notifications and their delivery: list them, retry undeliverable ones."""


@notifications.command(name="list")
@click.option("--status", type=click.Choice(STATUSES), help="Only notifications in this state.")
@output_option
@pass_invocation
def list_notifications(invocation: Invocation, status: str | None) -> None:
    """List the newest notifications, with where their delivery stands."""
    path = f"deliveries?status={status}" if status else "deliveries"
    found = objects(call(invocation, "GET", path).get("Notifications"))
    if invocation.wants_json:
        print_json({"Notifications": list[JsonValue](found)})
        return
    if not found:
        click.echo("No notifications.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "EVENT", "SOURCE", "STATUS", "ATTEMPTS"):
        table.add_column(header, no_wrap=True)
    table.add_column("ERROR", overflow="fold")
    for notice in found:
        table.add_row(
            str(notice.get("Id")), str(notice.get("EventName")),
            str(notice.get("SourceIdentifier")), str(notice.get("Status")),
            str(notice.get("Attempts")), str(notice.get("Error") or NONE),
        )  # fmt: skip
    invocation.stdout.print(table)


@notifications.command(name="retry")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_invocation
def retry(invocation: Invocation, ids: tuple[int, ...]) -> None:
    """Deliver undeliverable notifications IDS again, now."""
    call(invocation, "POST", "deliveries/retry", {"Ids": list[JsonValue](ids)})
    click.echo(f"retrying {len(ids)} notification{'s' if len(ids) != 1 else ''}")
