"""The JSON of an issue's relations (`/issues/{issue_key}/relations`)."""

from rest_framework import serializers

from api.fields import StrictCharField

from .models import Issue, IssueRelation
from .relations.services import TYPE_NAMES
from .representation import relation_data


class RelatedIssueSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(Issue.Status.choices, read_only=True)
    project = serializers.CharField(read_only=True, help_text="The other issue's project key.")


class RelatedIssueSummarySerializer(serializers.Serializer):
    """An issue's parent as the issue shows it."""

    key = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)


class ChildrenCountSerializer(serializers.Serializer):
    open = serializers.IntegerField(read_only=True, help_text="Sub-issues not yet resolved.")
    total = serializers.IntegerField(read_only=True)


class IssueRelationSerializer(serializers.ModelSerializer):
    """A relation as the issue of the URL reads it."""

    type = serializers.ChoiceField(TYPE_NAMES, read_only=True)
    issue = RelatedIssueSerializer(read_only=True)

    class Meta:
        model = IssueRelation
        fields = ["id", "type", "issue", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        return relation_data(instance, self.context["issue"].pk)


class IssueRelationCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        TYPE_NAMES, help_text="As the issue of the URL reads it: `blocks`, `blocked_by`..."
    )
    issue = StrictCharField(max_length=40, help_text="The other issue's key, such as `API-7`.")
