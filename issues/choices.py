"""The issue's choices that its representation names (issues/representation.py), kept out
of models.py so that they, and the representation, need no Django settings to import:
the benchmark's bare WSGI floor (bench/bare.py) renders issues with them."""

from django.db import models


class Priority(models.IntegerChoices):
    # Stored as a rank so lists sort by importance, not alphabet.
    LOWEST = 1, "lowest"
    LOW = 2, "low"
    MEDIUM = 3, "medium"
    HIGH = 4, "high"
    HIGHEST = 5, "highest"
