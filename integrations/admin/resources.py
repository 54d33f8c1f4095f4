"""The review list as a spreadsheet for finance: Chinese headers, readable reasons, sensitive fields masked."""

import json

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from integrations import review
from integrations.models import ReviewRecord
from portal.exports import NamedSheetResourceMixin


class ReviewRecordResource(NamedSheetResourceMixin, resources.ModelResource):
    scheme_name = fields.Field(column_name=_("scheme"))
    title = fields.Field(attribute="title", column_name=_("title"))
    source_number = fields.Field(attribute="source_number", column_name=_("source number"))
    originator_name = fields.Field(column_name=_("originator"))
    amount = fields.Field(attribute="amount", column_name=_("amount"))
    status_label = fields.Field(column_name=_("status"))
    reason = fields.Field(column_name=_("reason"))
    attempts = fields.Field(attribute="attempts", column_name=_("attempts"))
    last_attempt = fields.Field(column_name=_("last attempt"))
    target_number = fields.Field(attribute="target_number", column_name=_("bill number"))
    payload_text = fields.Field(column_name=_("payload sent"))

    class Meta:
        model = ReviewRecord
        fields = ("scheme_name", "title", "source_number", "originator_name", "amount", "status_label", "reason",
                  "attempts", "last_attempt", "target_number", "payload_text")
        export_order = fields

    def __init__(self, masker_for=None, **kwargs):
        super().__init__(**kwargs)
        self.masker_for = masker_for or (lambda: None)

    def export_resource(self, record, **kwargs):
        # One masker per record: the values it hides in the payload are hidden in the reason too.
        masker = self.masker_for()
        self.shown = review.shown_data(record, masker)
        self.masker = masker
        return super().export_resource(record, **kwargs)

    def dehydrate_scheme_name(self, record):
        return record.scheme.name

    def dehydrate_originator_name(self, record):
        return review.originator_label(record)

    def dehydrate_status_label(self, record):
        return record.get_status_display()

    def dehydrate_last_attempt(self, record):
        return timezone.localtime(record.last_attempt_at).strftime("%Y-%m-%d %H:%M") if record.last_attempt_at else ""

    def dehydrate_payload_text(self, record):
        payload = self.shown["payload"]
        return json.dumps(payload, ensure_ascii=False) if payload else ""

    def dehydrate_reason(self, record):
        text = review.readable_reason(record.error)
        return self.masker.text(text) if self.masker else text
