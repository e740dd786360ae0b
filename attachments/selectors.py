from accounts.callers import Caller
from projects.models import Project

from .models import Attachment


def attachments_visible_to(caller: Caller):
    """The attachments of the issues `caller` can see."""
    visible = Project.objects.visible_to(caller).values("pk")
    return Attachment.objects.filter(issue__project__in=visible).select_related(
        "uploader", "issue__project"
    )
