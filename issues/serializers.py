import re
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.callers import Caller
from accounts.serializers import UserSummarySerializer
from api.fields import RankChoiceField, StrictCharField, StrictModelSerializer
from api.links import DetailUrlField, detail_urls
from api.versions import Expected
from projects.models import Project
from projects.selectors import users_known_to

from .models import Issue, IssueEvent, Label
from .relation_serializers import (
    ChildrenCountSerializer,
    IssueRelationSerializer,
    RelatedIssueSummarySerializer,
)
from .relations.selectors import relation_summaries, relations_expanded
from .relations.services import TYPE_NAMES
from .representation import (
    ISSUE_FIELDS,
    ISSUE_URL,
    RELATION_FIELDS,
    issue_data,
    issue_representation,
    label_data,
)
from .services import Target


class UsernameField(StrictCharField):
    """A user referred to by username (case-insensitive); null clears."""

    def to_internal_value(self, data):
        username = super().to_internal_value(data)
        self.run_validators(username)  # no NUL reaches the database (PostgreSQL: a 500)
        request = self.context.get("request")
        # Not the bots of projects the caller cannot see: as unknown as a made-up name.
        users = users_known_to(request.user) if request else get_user_model().objects
        user = users.filter(username__iexact=username).first()
        if user is None:
            raise serializers.ValidationError(f"No user is named {username!r}.")
        return user

    def to_representation(self, value):
        return value.username


class OptionalChoiceField(serializers.ChoiceField):
    """A choice or none. None is null in the API, as a client's types expect, and "" in the
    database; "" is still taken on input, as it was before."""

    def __init__(self, choices, **kwargs):
        super().__init__(choices, allow_null=True, **kwargs)

    def run_validation(self, data=empty):
        if data in ("", None):
            return ""
        return super().run_validation(data)

    def to_representation(self, value):
        return super().to_representation(value) or None


# What an issue's history stores for a changed field (issues.services._history_value).
@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            # kind=imported: where the issue came from (transfers/services.py)
            {"type": "object", "additionalProperties": True},
        ],
        "nullable": True,
        "description": "The field's value: text for title, type, priority (its name), "
        "assignee (a username) and due_date (a date); label names for labels; null for "
        "none, and always for description (long text: the event says that it changed). "
        "For kind=imported, new_value is where the issue came from: `{source, external_id, "
        "import_id, original_reporter}` (original_reporter: the name in the file when no "
        "user here matched it, else null).",
    }
)
class HistoryValueField(serializers.JSONField):
    pass


class ProjectSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "key", "name"]
        read_only_fields = fields


class LabelSerializer(StrictModelSerializer):
    url = DetailUrlField("label-detail", "project.key", "pk")

    class Meta:
        model = Label
        fields = ["id", "url", "name", "color", "description", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, label):
        return label_data(label, self.context.get("request"))  # issues/representation.py


class LabelSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = fields


class IssueSerializer(serializers.ModelSerializer):
    """An issue as clients read it."""

    url = DetailUrlField("issue-detail", "key")
    key = serializers.CharField(read_only=True)
    project = ProjectSummarySerializer(read_only=True)
    priority = RankChoiceField(Issue.Priority, read_only=True)
    resolution = OptionalChoiceField(
        Issue.Resolution.choices,
        read_only=True,
        help_text="null until the issue is resolved or closed.",
    )
    # null once the user is deleted (reporter), or while unassigned (assignee)
    reporter = UserSummarySerializer(read_only=True, allow_null=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    labels = LabelSummarySerializer(many=True, read_only=True)
    # Its relations, counting only those whose other issue the reader may see.
    parent = RelatedIssueSummarySerializer(
        read_only=True, allow_null=True, help_text="The issue this one is a sub-issue of."
    )
    children = ChildrenCountSerializer(read_only=True, help_text="Its sub-issues.")
    open_blockers = serializers.IntegerField(
        read_only=True, help_text="How many open issues block this one."
    )
    blocked = serializers.BooleanField(
        read_only=True, help_text="Whether an open issue blocks this one (open_blockers > 0)."
    )
    # Not read_only, which the schema would mark required: it is there only when asked for.
    relations = IssueRelationSerializer(
        many=True,
        required=False,
        help_text="Only with `?expand=relations`: every relation, as the relations "
        "endpoint lists them.",
    )

    class Meta:
        model = Issue
        fields = [*ISSUE_FIELDS, "attachment_count", *RELATION_FIELDS, "relations"]
        read_only_fields = fields

    def to_representation(self, issue):
        # Built by hand, in issues/representation.py (which says why); the declared fields
        # still describe the schema, and a test keeps the two equal.
        request = self.context.get("request")
        # Its relations' summary, when read with others' (a bulk edit's answer).
        relations = self.context.get("relations", {}).get(issue.pk)
        data = issue_representation(issue, request, relations)
        if expands_relations(request):
            data["relations"] = relations_expanded([issue.pk], Caller.of(request))[issue.pk]
        return data


def expands_relations(request) -> bool:
    """Whether a GET asked for each issue's relations (`?expand=relations`)."""
    return (
        request is not None
        and request.method == "GET"
        # A DRF request, or Django's (the benchmark's data floor)
        and "relations" in getattr(request, "query_params", request.GET).getlist("expand")
    )


def issue_rows_data(rows: list[dict], request=None, reader=None) -> list[dict]:
    """IssueSerializer's output for rows read with `.values(*ISSUE_ROW_FIELDS)`.

    Lists take this path: 50 rows as model instances (with their project, reporter and
    assignee, 200 objects) and a prefetch of their labels cost more than the rest of the
    request. The labels come in one query; tests keep each row equal to the issue's own
    representation.
    """
    labels = defaultdict(list)
    tagged = Issue.labels.through.objects.filter(issue_id__in=[row["id"] for row in rows])
    for issue_id, *label in tagged.order_by("label__name").values_list(
        "issue_id", "label_id", "label__name", "label__color"
    ):
        labels[issue_id].append(dict(zip(("id", "name", "color"), label, strict=True)))
    url = detail_urls(ISSUE_URL, request)
    if reader is None and request is not None:
        reader = Caller.of(request)  # whose visibility the relations follow
    ids = [row["id"] for row in rows]
    summaries = relation_summaries(ids, reader)
    data = [issue_data(row, labels[row["id"]], url, summaries[row["id"]]) for row in rows]
    if expands_relations(request):
        relations = relations_expanded(ids, reader)
        for issue in data:
            issue["relations"] = relations[issue["id"]]
    return data


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class LabelRefField(serializers.Field):
    """A label by id or by name; resolved against the issue's project in `validate`."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or data == "":
            raise serializers.ValidationError("A label id or name.")
        return data

    def to_representation(self, value):
        return value.name


class LabelRefListField(serializers.ListField):
    """Labels by id or name; read back (the browsable API fills its form from the issue)
    from the issue's related manager."""

    child = LabelRefField()

    def to_representation(self, data):
        return super().to_representation(data.all() if hasattr(data, "all") else data)


class IssueWriteSerializer(StrictModelSerializer):
    """What a client may set on an issue: never status, number, reporter or project."""

    priority = RankChoiceField(Issue.Priority, required=False)
    assignee = UsernameField(required=False, allow_null=True)
    labels = LabelRefListField(required=False, max_length=50)
    parent = StrictCharField(
        required=False,
        allow_null=True,
        max_length=40,
        help_text="The key of the issue this one is a sub-issue of (one you can see); null "
        "for none. Takes the relate_issues right.",
    )

    class Meta:
        model = Issue
        fields = [
            *("title", "description", "type", "priority", "assignee", "labels", "due_date"),
            "parent",
        ]

    def validate(self, attrs):
        if "status" in self.initial_data:
            # Refused rather than ignored, so a client never believes it changed the status.
            raise serializers.ValidationError(
                {"status": "The status changes only through POST /api/v1/issues/{key}/status."},
                code="read_only",
            )
        if "labels" in attrs:
            project = attrs.get("project") or self.context.get("project") or self.instance.project
            attrs["labels"] = self._resolve_labels(project, attrs["labels"])
        return attrs

    def _resolve_labels(self, project, refs):
        by_id = {label.pk: label for label in project.labels.all()}
        by_name = {label.name.lower(): label for label in by_id.values()}
        labels, unknown = [], []
        for ref in refs:
            if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
                label = by_id.get(int(ref))
            else:
                label = by_name.get(ref.lower())
            if label is None:
                unknown.append(str(ref))
            elif label not in labels:
                labels.append(label)
        if unknown:
            raise serializers.ValidationError(
                {"labels": f"No such label in project {project.key}: {', '.join(unknown)}."}
            )
        return labels


class IssueCreateSerializer(IssueWriteSerializer):
    """Create an issue in the project named by key (in the body, or in the URL)."""

    project = StrictCharField(help_text="The project's key, e.g. WEB.")

    class Meta(IssueWriteSerializer.Meta):
        fields = ["project", *IssueWriteSerializer.Meta.fields]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "project" in self.context:  # nested under /projects/{key}/issues
            del self.fields["project"]

    def validate_project(self, key):
        project = (
            Project.objects.visible_to(Caller.of(self.context["request"]))
            .filter(key=key.upper())
            .first()
        )
        if project is None:
            raise serializers.ValidationError(f"No project with key {key!r}.")
        return project


class TransitionRequestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Issue.Status.choices)
    resolution = OptionalChoiceField(Issue.Resolution.choices, required=False)
    comment = StrictCharField(
        required=False, allow_blank=True, max_length=20_000, trim_whitespace=False
    )
    force = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Resolve or close despite open blockers or sub-issues (the "
        "`force_transition` right); the history records who forced it.",
    )
    duplicate_of = StrictCharField(
        required=False,
        max_length=40,
        help_text="With `resolution: duplicate`: the key of the issue this one duplicates "
        "(a `duplicate_of` relation is created with the change).",
    )


class TransitionOptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    target = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    requires = serializers.ListField(child=serializers.CharField())


# What a history entry's `field` names: a field a PATCH changes; a relation's type as the
# issue reads it (kind related/unrelated); `force` (a transition forced past open
# blockers); `attachment` (kind attached/detached, attachments/services.py).
HISTORY_FIELDS = list(
    dict.fromkeys([*IssueWriteSerializer.Meta.fields, *TYPE_NAMES, "force", "attachment"])
)


class IssueEventSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)  # null once deleted
    # Each null where the kind of event has none: a transition has no field, a change no
    # status.
    from_status = OptionalChoiceField(Issue.Status.choices, read_only=True)
    to_status = OptionalChoiceField(Issue.Status.choices, read_only=True)
    resolution = OptionalChoiceField(Issue.Resolution.choices, read_only=True)
    field = OptionalChoiceField(HISTORY_FIELDS, read_only=True)
    old_value = HistoryValueField(read_only=True)
    new_value = HistoryValueField(read_only=True)

    class Meta:
        model = IssueEvent
        fields = [
            "id",
            "kind",
            "actor",
            "from_status",
            "to_status",
            "resolution",
            "field",
            "old_value",
            "new_value",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


# -- bulk edit -------------------------------------------------------------------------

# A key as issues have them: a project key (up to 10 letters and digits), a dash, a number.
ISSUE_KEY = r"^[A-Za-z0-9]{1,10}-[1-9][0-9]{0,8}$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": ISSUE_KEY, "example": "WEB-42"},
            {
                "type": "object",
                "properties": {
                    "key": {"type": "string", "pattern": ISSUE_KEY},
                    "if_match": {
                        "type": "string",
                        "description": "The issue's ETag as the client read it: the issue "
                        "changes only if it is still that version (else 412 in its result).",
                    },
                },
                "required": ["key"],
                "additionalProperties": False,
            },
        ]
    }
)
class BulkTargetField(serializers.Field):
    """An issue of a bulk edit: its key, or `{"key", "if_match"}`."""

    default_error_messages = {
        "invalid": 'An issue key such as "WEB-42", or {{"key": ..., "if_match": ...}}.',
    }

    def to_internal_value(self, data):
        if isinstance(data, dict) and not set(data) - {"key", "if_match"}:
            key, if_match = data.get("key"), data.get("if_match")
        else:
            key, if_match = data, None
        if not isinstance(key, str) or not isinstance(if_match, str | None):
            self.fail("invalid")
        if not re.fullmatch(ISSUE_KEY, key):
            raise serializers.ValidationError(f"{key[:40]!r} is not an issue key (WEB-42).")
        expected = None
        if if_match is not None and if_match.strip() not in ("", "*"):
            version = self.context["version_of"]
            expected = Expected.of({tag.strip() for tag in if_match.split(",")}, version)
        return Target(key.upper(), expected)


class BulkChangesSerializer(StrictModelSerializer):
    """The change made to every issue of a bulk edit: any field a PATCH takes, labels
    added or removed, and a status change with its resolution and comment."""

    priority = RankChoiceField(Issue.Priority, required=False)
    assignee = UsernameField(required=False, allow_null=True)
    labels = LabelRefListField(
        required=False, max_length=50, help_text="Replaces each issue's labels."
    )
    labels_add = LabelRefListField(required=False, max_length=50)
    labels_remove = LabelRefListField(required=False, max_length=50)
    parent = StrictCharField(
        required=False,
        allow_null=True,
        max_length=40,
        help_text="Makes every issue a sub-issue of this one (null: of none).",
    )
    status = serializers.ChoiceField(
        choices=Issue.Status.choices,
        required=False,
        help_text="Moves each issue through the workflow; those already there stay.",
    )
    resolution = OptionalChoiceField(Issue.Resolution.choices, required=False)
    comment = StrictCharField(
        required=False, allow_blank=True, max_length=20_000, trim_whitespace=False
    )

    class Meta:
        model = Issue
        fields = [
            *IssueWriteSerializer.Meta.fields,
            "labels_add",
            "labels_remove",
            "status",
            "resolution",
            "comment",
        ]
        # Every field is optional: the change names only what it changes.
        extra_kwargs = {"title": {"required": False}}

    def to_internal_value(self, data):
        # Refused rather than ignored: a misspelt field would otherwise change nothing,
        # on every issue, without a word.
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {name: ["Not a field a bulk edit changes."] for name in unknown}
            )
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Name at least one field to change.")
        if "labels" in attrs and ("labels_add" in attrs or "labels_remove" in attrs):
            raise serializers.ValidationError(
                {"labels": "Either replace the labels or add and remove some, not both."}
            )
        for part in ("resolution", "comment"):
            if part in attrs and "status" not in attrs:
                raise serializers.ValidationError({part: "Goes with a status change."})
        return attrs


class BulkEditSerializer(serializers.Serializer):
    issues = serializers.ListField(
        child=BulkTargetField(),
        min_length=1,
        help_text="The issues to change (BULK_EDIT_MAX_ISSUES at most, 100 by default), "
        "in any projects.",
    )
    changes = BulkChangesSerializer()
    mode = serializers.ChoiceField(
        choices=["atomic", "partial"],
        default="atomic",
        help_text="`atomic`: every issue changes or none does. `partial`: each on its own.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Answer what a real run would, and change nothing."
    )

    def validate_issues(self, targets):
        limit = settings.BULK_EDIT_MAX_ISSUES
        if len(targets) > limit:
            raise serializers.ValidationError(f"At most {limit} issues per request.")
        keys = [target.key for target in targets]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise serializers.ValidationError(f"Listed more than once: {', '.join(twice)}.")
        return targets


class BulkErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="The field of the change the problem is in, or `issue` for the issue "
        "as a whole (not found, no right, a stale If-Match)."
    )
    message = serializers.CharField()
    code = serializers.CharField(help_text="The rule, for programs.")


class BulkResultSerializer(serializers.Serializer):
    key = serializers.CharField()
    status = serializers.IntegerField(
        help_text="What a single request would have answered for this issue: 200, or the "
        "error's status (403, 404, 409, 412, 400)."
    )
    issue = IssueSerializer(allow_null=True, help_text="The issue as changed; null if not.")
    etag = serializers.CharField(allow_null=True, help_text="The changed issue's ETag.")
    errors = BulkErrorSerializer(many=True)


class BulkEditResultSerializer(serializers.Serializer):
    bulk_id = serializers.UUIDField(
        allow_null=True,
        help_text="Carried by every event of the edit; null when nothing was stored.",
    )
    mode = serializers.CharField()
    dry_run = serializers.BooleanField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkResultSerializer(many=True, help_text="One per issue, in the request's order.")
