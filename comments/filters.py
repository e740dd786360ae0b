import django_filters as filters

from api.filters import UtcIsoDateTimeFilter, resolve_user
from projects.selectors import users_known_to

from .models import Comment


class CommentFilter(filters.FilterSet):
    author = filters.CharFilter(method="filter_author", help_text="A username or `me`.")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Comment
        fields = []

    def filter_author(self, queryset, name, value):
        users = users_known_to(self.request.user)  # not the bots of projects hidden from them
        return queryset.filter(author=resolve_user(self.request, name, value, users=users))
