"""Serializer fields every app shares: text inputs take text, exactly as sent.

DRF's CharField turns a JSON number into text (`0` becomes `"0"`) and trims surrounding
whitespace before checking lengths, so requests the schema calls invalid were accepted
(`"display_name": 0`, a 200-character title padded with spaces). These take text only,
keep it as sent, and still refuse text of whitespace only where a value is required.
"""

from django.core.validators import RegexValidator
from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty

from api.representation import utc_iso  # noqa: F401 (where serializers found it)

# No NUL anywhere (PostgreSQL cannot store it); with a value required, at least one
# character that is not whitespace (Python's str.isspace(), spelled out for ECMA regexes).
# Where blank is allowed, drf-spectacular adds "" as an alternative, so the pattern is
# for the non-empty values only.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]+$"
NOT_BLANK = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"


class TextOnlyMixin:
    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        if isinstance(data, str) and data and not data.strip() and not self.allow_blank:
            self.fail("blank")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(TextOnlyMixin, serializers.CharField):
    """A CharField for text only, kept as sent; whitespace only is blank."""


class StrictEmailField(TextOnlyMixin, serializers.EmailField):
    """An EmailField for text only, kept as sent."""


class RankChoiceField(serializers.ChoiceField):
    """A member of an IntegerChoices by its name (`high`, `owner`), stored as its rank, so
    clients read and write names while lists sort by importance."""

    def __init__(self, choices_class, **kwargs):
        self.choices_class = choices_class
        super().__init__(choices=list(choices_class.labels), **kwargs)

    def to_representation(self, value):
        return None if value is None else self.choices_class(value).label

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        return next(member for member in self.choices_class if member.label == name)


# No docstring: drf-spectacular would show it as every subclass's description.
class StrictModelSerializer(serializers.ModelSerializer):
    # Text model fields become StrictCharField/StrictEmailField.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }


class StrictCharFieldSchema(OpenApiSerializerFieldExtension):
    """The schema says what StrictCharField refuses: NUL, and blank text where required
    (a field with a pattern of its own, such as a project key, keeps that one)."""

    target_class = StrictCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        patterned = any(isinstance(v, RegexValidator) for v in field.validators)
        if direction == "request" and schema.get("type") == "string" and not patterned:
            schema["pattern"] = NO_NUL if field.allow_blank else NOT_BLANK
        return schema
