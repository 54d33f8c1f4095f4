"""The identity map as a spreadsheet: Chinese headers, keyed on the DingTalk userid."""

from io import BytesIO

import openpyxl
from openpyxl.cell import WriteOnlyCell
import tablib
from django.utils import timezone
from import_export import fields, resources, widgets
from import_export.formats.base_formats import CSV, XLSX
from import_export.instance_loaders import CachedInstanceLoader

from portal.exports import NamedSheetResourceMixin
from sso import identity_file as f
from sso.models import IdentityMap


class TextWidget(widgets.CharWidget):
    """Text in and out; a blank cell is "" (the model's blank), never None."""

    def clean(self, value, row=None, **kwargs):
        return "" if f.is_blank(value) else str(value).strip()


class YesNoWidget(widgets.BooleanWidget):
    """是/否 in the file; the words a person might type are read by `identity_file.parse_flag`."""

    def clean(self, value, row=None, **kwargs):
        flag = f.parse_flag(value)
        if flag is None:
            raise ValueError(f"{value!r} is not 是 or 否")
        return flag

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


def column(header, widget=None):
    return fields.Field(attribute=f.COLUMNS[header], column_name=header, widget=widget or TextWidget())


class IdentityMapResource(NamedSheetResourceMixin, resources.ModelResource):
    """Rows of one DingTalk organisation (`organisation`, a Connection) when given; all rows otherwise."""

    dingtalk_userid = column(f.USERID)
    name = column(f.NAME)
    mobile = column(f.MOBILE)
    kingdee_username = column(f.KINGDEE_USER)
    kingdee_staff_number = column(f.STAFF_NUMBER)
    active = column(f.ACTIVE, YesNoWidget())

    class Meta:
        model = IdentityMap
        fields = ("dingtalk_userid", "name", "mobile", "kingdee_username", "kingdee_staff_number", "active")
        export_order = fields
        import_id_fields = ("dingtalk_userid",)
        instance_loader_class = CachedInstanceLoader
        skip_unchanged = True
        report_skipped = False
        skip_html_diff = True
        use_bulk = True
        batch_size = 1000
        clean_model_instances = True

    def __init__(self, organisation=None, **kwargs):
        super().__init__(**kwargs)
        self.organisation = organisation

    def get_queryset(self):
        rows = super().get_queryset()
        return rows if self.organisation is None else rows.of(self.organisation)

    def before_import_row(self, row, **kwargs):
        """Rows arrive checked by `identity_file`; strip what a direct caller may have left around."""
        for header, value in row.items():
            if header in f.COLUMNS and header != f.ACTIVE:
                row[header] = f.cell_text(header, value)[0]

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # Uniqueness of the userid is settled before the import (file) and by the loader (database):
        # asking the database again per row would cost one query per row.
        super().validate_instance(instance, import_validation_errors, validate_unique=False)

    def get_bulk_update_fields(self):
        return [*super().get_bulk_update_fields(), "updated_at"]

    def before_save_instance(self, instance, row, **kwargs):
        instance.updated_at = timezone.now()  # bulk_update() skips auto_now
        if instance.dingtalk_id is None:  # bulk_create() skips save()
            instance.dingtalk = self.organisation


def cells_as_text(dataset, neutralise=False):
    """A copy of the export where every cell is text ("" for empty), optionally with formula-like text
    neutralised for CSV (see `identity_file.neutralised`)."""
    copy = tablib.Dataset(headers=dataset.headers)
    for row in dataset:
        cells = ["" if value is None else str(value) for value in row]
        copy.append([f.neutralised(cell) for cell in cells] if neutralise else cells)
    return copy


class SafeCSV(CSV):
    """CSV whose text never runs as a formula in Excel/WPS: = + - @ tab and CR at the start get a leading '.
    (import-export's own escaping only strips a leading =, changing the data.)"""

    def export_data(self, dataset, **kwargs):
        return cells_as_text(dataset, neutralise=True).export("csv", **kwargs)


class SafeXLSX(XLSX):
    """Every cell written as text, so that a value starting with = is shown, never calculated."""

    def export_data(self, dataset, **kwargs):
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(title=(dataset.title or "身份映射")[:31])
        sheet.append(list(dataset.headers))
        for row in cells_as_text(dataset):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cells.append(cell)
            sheet.append(cells)
        buffer = BytesIO()
        book.save(buffer)
        return buffer.getvalue()
