"""A mail, as it is sent: rendered at each attempt from its items, after checking again
that the person may still see each issue (content of a project they can no longer see is
never sent). Plain text and HTML from templates that escape every value (Django's
autoescaping): user text never becomes markup.

Headers: the issue's key and title in the subject; `Message-ID` fixed per mail (a retry
sends the same one), `In-Reply-To`/`References` naming one id per issue so mail clients
thread an issue's mails; `List-Unsubscribe` with a signed URL and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058); `List-Id`;
`Auto-Submitted: auto-generated` (RFC 3834) so vacation responders keep quiet; and
`X-Tracker-Reason`, for filters.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from events.models import Event
from issues.models import Issue

from .models import (
    Delivery,
    Email,
    IssueSubscription,
    MailItem,
    NotificationSettings,
    Reason,
    delivery_for,
)

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
# What unwatching an issue stops; being assigned or mentioned still mails.
PARTICIPANT_REASONS = {
    Reason.COMMENTED,
    Reason.STATE_CHANGED,
    Reason.SUBSCRIBED,
    Reason.REVIEW_REQUESTED,
}
QUOTE_LIMIT = 4000
SUBJECT_LIMIT = 250


def domain() -> str:
    return urlsplit(settings.PUBLIC_URL).hostname or "localhost"


def issue_url(key: str) -> str:
    return settings.NOTIFY_ISSUE_URL.format(base=settings.PUBLIC_URL, key=key)


def unsubscribe_token(*, user_id: int, issue_ids=(), digest: bool = False) -> str:
    payload = {"u": user_id, "d": 1} if digest else {"u": user_id, "i": sorted(issue_ids)}
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(token: str) -> str:
    return settings.PUBLIC_URL + reverse("notifications-unsubscribe", args=[token])


def read_unsubscribe_token(token: str) -> dict | None:
    """The token's payload if it is one of ours, else None."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    return payload


# -- what each item says ---------------------------------------------------------------------


def _name(user) -> str:
    if user is None:
        return "Someone"
    return user.display_name or user.username


def _quote(text) -> str:
    text = str(text or "")
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + " …"


@dataclass
class Line:
    headline: str
    quote: str = ""


def describe(item: MailItem, key: str) -> Line:
    """One notification as a sentence (and the text it quotes)."""
    event, reason = item.event, item.reason
    actor = _name(event.actor)
    data, changes = event.data or {}, event.changes or {}
    kind = event.type
    if kind == Event.Type.ISSUE_CREATED:
        if reason == Reason.ASSIGNED:
            return Line(f"{actor} opened {key} and assigned it to you.")
        if reason == Reason.MENTIONED:
            return Line(
                f"{actor} mentioned you in new issue {key}:", _quote(data.get("description"))
            )
        return Line(
            f"{actor} opened {key}: {data.get('title', '')}", _quote(data.get("description"))
        )
    if kind == Event.Type.ISSUE_UPDATED:
        if reason == Reason.ASSIGNED:
            return Line(f"{actor} assigned {key} to you.")
        if reason == Reason.MENTIONED:
            return Line(
                f"{actor} mentioned you in the description of {key}:",
                _quote(data.get("description")),
            )
        fields = ", ".join(sorted(changes)) or "fields"
        return Line(f"{actor} changed {fields} of {key}.")
    if kind == Event.Type.ISSUE_TRANSITIONED:
        old, new = changes.get("status", ""), data.get("status", "")
        if reason == Reason.REVIEW_REQUESTED:
            return Line(f"{actor} submitted {key} for review: you may review it.")
        resolution = f" ({data['resolution']})" if data.get("resolution") else ""
        return Line(f"{actor} moved {key} from {old} to {new}{resolution}.")
    if kind == Event.Type.COMMENT_CREATED:
        if reason == Reason.MENTIONED:
            return Line(f"{actor} mentioned you in a comment on {key}:", _quote(data.get("body")))
        return Line(f"{actor} commented on {key}:", _quote(data.get("body")))
    if kind == Event.Type.COMMENT_UPDATED:
        return Line(
            f"{actor} mentioned you in an edited comment on {key}:", _quote(data.get("body"))
        )
    if kind == Event.Type.ATTACHMENT_CREATED:
        return Line(f"{actor} attached {data.get('filename', 'a file')} to {key}.")
    if kind == Event.Type.ISSUE_UNBLOCKED:
        return Line(f"{key} is no longer blocked: its last open blocker was resolved or closed.")
    return Line(f"{actor}: {kind} on {key}.")


# -- the message -----------------------------------------------------------------------------


def items_to_send(email: Email) -> list[MailItem]:
    """The mail's items the person may still be sent: issues they can see now, reasons
    whose mail they still want, issues they have not unwatched since (for what watching
    brings)."""
    user = email.user
    if not user.is_active or not user.email or user.is_bot:
        return []
    items = list(
        email.items.select_related("issue__project", "event__actor").order_by("event_id", "id")
    )
    issue_ids = {item.issue_id for item in items}
    visible = set(
        Issue.objects.visible_to(user).filter(pk__in=issue_ids).values_list("pk", flat=True)
    )
    choices = (
        NotificationSettings.objects.filter(user=user).values_list("email", flat=True).first()
    )
    unwatched = set(
        IssueSubscription.objects.filter(
            user=user, issue__in=issue_ids, state=IssueSubscription.State.UNWATCHED
        ).values_list("issue_id", flat=True)
    )
    return [
        item
        for item in items
        if item.issue_id in visible
        and delivery_for(choices, item.reason) != Delivery.NEVER
        and not (item.issue_id in unwatched and item.reason in PARTICIPANT_REASONS)
    ]


def render(email: Email, items: list[MailItem]) -> EmailMultiAlternatives:
    """The message for `items` (items_to_send's), to the person's address."""
    user = email.user
    issues: dict[int, dict] = {}
    for item in items:
        issue = item.issue
        entry = issues.setdefault(
            issue.pk,
            {
                "key": issue.key,
                "title": issue.title,
                "status": issue.status,
                "project": issue.project.name,
                "url": issue_url(issue.key),
                "lines": [],
            },
        )
        entry["lines"].append(describe(item, issue.key))
    groups = list(issues.values())
    digest = email.key == "digest"
    single = groups[0] if len(groups) == 1 and not digest else None
    if single is not None:
        subject = f"[{single['key']}] {single['title']}"
        token = unsubscribe_token(user_id=user.pk, issue_ids=issues)
        what = f"this issue ({single['key']})"
    elif digest:
        subject = f"Daily digest: {len(items)} updates in {len(groups)} issues"
        token = unsubscribe_token(user_id=user.pk, digest=True)
        what = "the daily digest"
    else:
        keys = ", ".join(g["key"] for g in groups[:3])
        more = f" and {len(groups) - 3} more" if len(groups) > 3 else ""
        subject = f"{len(groups)} issues changed: {keys}{more}"
        token = unsubscribe_token(user_id=user.pk, issue_ids=issues)
        what = "these issues"
    subject = " ".join(subject.split())[:SUBJECT_LIMIT]
    link = unsubscribe_url(token)
    context = {
        "user": user,
        "name": user.display_name or user.username,
        "issues": groups,
        "digest": digest,
        "unsubscribe_url": link,
        "unsubscribe_what": what,
        "settings_url": settings.PUBLIC_URL + reverse("notification-settings"),
    }
    text = render_to_string("notifications/email.txt", context)
    html = render_to_string("notifications/email.html", context)
    here = domain()
    headers = {
        "Message-ID": f"<notification.{email.pk}@{here}>",
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Tracker-Reason": ", ".join(sorted({item.reason for item in items})),
    }
    if single is not None:
        issue = items[0].issue
        thread = f"<issue.{issue.pk}@{here}>"
        headers |= {
            "In-Reply-To": thread,
            "References": thread,
            "List-Id": f"<{issue.project.key.lower()}.{here}>",
        }
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
