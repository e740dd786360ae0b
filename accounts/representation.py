"""A user as others see them, in every representation that names one (an issue's people,
a comment's author, a member, an event's actor). Nothing here needs Django's settings."""

# No email, no flags; `type` tells bots from people.
USER_SUMMARY_FIELDS = ("id", "username", "display_name", "type")


def user_summary(user) -> dict | None:
    """UserSummarySerializer's output (None for no user), without its per-field overhead."""
    if user is None:
        return None
    return {name: getattr(user, name) for name in USER_SUMMARY_FIELDS}
