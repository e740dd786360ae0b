from .models import IssueEvent


def event_record(*, issue, actor, kind: str, **fields) -> IssueEvent:
    """Append one entry to the issue's history."""
    return IssueEvent.objects.create(issue=issue, actor=actor, kind=kind, **fields)
