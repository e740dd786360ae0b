from rest_framework.permissions import BasePermission


class IsCommentAuthor(BasePermission):
    """The comment is the caller's own."""

    message = "Only the comment's author may do this."

    def has_object_permission(self, request, view, obj):
        return obj.author_id is not None and obj.author_id == request.user.pk
