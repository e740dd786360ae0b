from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from api.fields import utc_iso
from api.filters import UtcIsoDateTimeField
from api.links import DetailUrlField, detail_url, detail_urls
from issues.models import Issue

from .models import DEFAULT_DELIVERY, Delivery, ProjectSubscription, Reason, Thread


def thread_urls(request):
    """A thread's url from its id, reversed once for a page (api.links.detail_urls for a
    route that takes digits only)."""
    marker = 9876543210
    prefix, suffix = detail_url("me-notification-detail", marker, request=request).split(
        str(marker)
    )
    return lambda pk: f"{prefix}{pk}{suffix}"


class ThreadIssueSerializer(serializers.Serializer):
    """The issue a thread is about, as it is now."""

    key = serializers.CharField(read_only=True)
    url = DetailUrlField("issue-detail", "key")
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(Issue.Status.choices, read_only=True)
    project = serializers.CharField(read_only=True, help_text="The project's key.")


class ThreadSerializer(serializers.ModelSerializer):
    """One person's notifications about one issue."""

    url = DetailUrlField("me-notification-detail", "pk")
    issue = ThreadIssueSerializer(read_only=True)
    reason = serializers.ChoiceField(
        Reason.choices, read_only=True, help_text="Why the latest activity notified you."
    )
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    event = serializers.IntegerField(
        source="event_id",
        read_only=True,
        allow_null=True,
        help_text="The id of the event (GET /events) behind the latest activity.",
    )
    unread = serializers.BooleanField(read_only=True)

    class Meta:
        model = Thread
        fields = [
            "id",
            "url",
            "issue",
            "reason",
            "actor",
            "event",
            "unread",
            "updated_at",
            "read_at",
        ]
        read_only_fields = fields

    def to_representation(self, row):
        # From a plain row (selectors.THREAD_ROW_FIELDS), by hand, as the issue list does.
        if not hasattr(self, "_urls"):
            request = self.context.get("request")
            self._urls = (thread_urls(request), detail_urls("issue-detail", request))
        return thread_data(row, *self._urls)


def thread_data(row: dict, thread_url, issue_url) -> dict:
    """A thread's representation from its row; the urls from ids and keys (api.links)."""
    key = f"{row['project__key']}-{row['issue__number']}"
    return {
        "id": row["id"],
        "url": thread_url(row["id"]),
        "issue": {
            "key": key,
            "url": issue_url(key),
            "title": row["issue__title"],
            "status": row["issue__status"],
            "project": row["project__key"],
        },
        "reason": row["reason"],
        "actor": (
            None
            if row["actor__id"] is None
            else {name: row[f"actor__{name}"] for name in UserSummarySerializer.Meta.fields}
        ),
        "event": row["event_id"],
        "unread": row["read_at"] is None,
        "updated_at": utc_iso(row["updated_at"]),
        "read_at": utc_iso(row["read_at"]),
    }


class StrictBooleanField(serializers.BooleanField):
    """true or false, as JSON has them: no "yes", 1 or "on"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ThreadMarkSerializer(serializers.Serializer):
    read = StrictBooleanField(help_text="true: mark read; false: mark unread again.")


MAX_EVENT_ID = 2**63 - 1


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date-time"},
            {"type": "integer", "minimum": 1},
        ],
        "description": "A time (ISO 8601, not in the future) or an event id.",
    }
)
class BeforeField(serializers.Field):
    """A time (ISO 8601; without an offset, UTC) or an event id (a number, or digits)."""

    default_error_messages = {
        "invalid": "Give an ISO 8601 time (e.g. 2026-01-31T12:00:00Z) or an event id."
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            return min(data, MAX_EVENT_ID)  # ids are 64-bit: a larger one names them all
        if not isinstance(data, str) or not data.strip() or "\x00" in data:
            self.fail("invalid")
        if data.isascii() and data.isdigit():
            return int(data) if len(data) < 19 else MAX_EVENT_ID
        try:
            moment = UtcIsoDateTimeField().clean(data)
        except Exception:  # django's forms.ValidationError: bad format or out of range
            self.fail("invalid")
        if moment is None:
            self.fail("invalid")
        return moment.astimezone(UTC)

    def to_representation(self, value):
        return value


class MarkReadSerializer(serializers.Serializer):
    before = BeforeField(
        required=False,
        help_text="Only threads whose latest activity is not later: a time (not in the "
        "future), or an event id. Without it, every thread.",
    )


class MarkReadResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Threads that were unread and are read now.")


def _delivery_field(reason: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        Delivery.choices,
        required=False,
        help_text=f"Mail for `{reason}` notifications (default {DEFAULT_DELIVERY[reason]}).",
    )


class NotificationSettingsSerializer(serializers.Serializer):
    """How each reason's notifications reach you by mail: `immediately` (within a minute),
    `batched` (per issue, once activity pauses: 3 minutes without activity or 10 in all),
    `daily` (the daily digest) or `never` (the inbox only)."""

    assigned = _delivery_field(Reason.ASSIGNED)
    mentioned = _delivery_field(Reason.MENTIONED)
    review_requested = _delivery_field(Reason.REVIEW_REQUESTED)
    state_changed = _delivery_field(Reason.STATE_CHANGED)
    commented = _delivery_field(Reason.COMMENTED)
    subscribed = _delivery_field(Reason.SUBSCRIBED)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                dict.fromkeys(unknown, f"Not a reason; the reasons are {', '.join(self.fields)}.")
            )
        return attrs


class IssueSubscriptionSerializer(serializers.Serializer):
    subscribed = serializers.BooleanField(
        help_text="Whether you hear of this issue's activity (by its rules, not only mail)."
    )
    reason = serializers.ChoiceField(
        ["watching", "reporter", "assignee", "commented", "mentioned", "project", "unwatched"],
        allow_null=True,
        help_text="Why: you watch it, reported it, are its assignee, commented, were "
        "mentioned, watch its project; or `unwatched` (you unwatched it: remembered until "
        "you watch it again); null: you take no part.",
    )


class ProjectSubscriptionSerializer(serializers.Serializer):
    subscribed = serializers.BooleanField(help_text="Whether you watch the project.")
    level = serializers.ChoiceField(
        ProjectSubscription.Level.choices,
        allow_null=True,
        help_text="`all`: every change in the project; `new_issues`: only new issues; null "
        "when you do not watch it.",
    )


class ProjectSubscriptionRequestSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        ProjectSubscription.Level.choices,
        default=ProjectSubscription.Level.ALL,
        help_text="`all` (the default): every change in the project; `new_issues`: only new "
        "issues.",
    )

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(dict.fromkeys(unknown, "Unknown field."))
        return attrs
