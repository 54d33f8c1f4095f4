"""What the two-way customers sync wrote, field by field (read-only): pushes, put-backs, creations, removals."""

from django.contrib import admin

from integrations.admin.runs import ReadOnlyAdmin
from integrations.models import FieldChange


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "title", "number", "field", "side", "before", "after")
    list_filter = ("kind", "side", "scheme")
    search_fields = ("title", "number", "source_key", "field", "before", "after")
    list_select_related = ("scheme",)
    date_hierarchy = "at"
    show_full_result_count = False
