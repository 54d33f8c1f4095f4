"""Spreadsheets built byte by byte, the way an attacker (or a broken exporter) would write them."""

import io
import zipfile

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
             f'2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
             '</Relationships>')
WORKBOOK = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 f'package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" '
                 'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/sharedStrings" '
                 'Target="sharedStrings.xml"/></Relationships>')
HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>钉钉用户ID</t></is></c><c r="B1" t="inlineStr"><is><t>姓名'
              '</t></is></c><c r="C1" t="inlineStr"><is><t>启用</t></is></c></row>')


def sheet_xml(rows="", dimension="A1:C2", merges=""):
    merged = f'<mergeCells count="1">{merges}</mergeCells>' if merges else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><dimension ref="{dimension}"/>'
            f"<sheetData>{HEADER_ROW}{rows}</sheetData>{merged}</worksheet>")


def workbook(sheet, shared_strings=None):
    """An .xlsx of this sheet XML; `shared_strings` is text, or an iterable of byte chunks streamed in."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        if isinstance(shared_strings, str):
            book.writestr("xl/sharedStrings.xml", shared_strings)
        elif shared_strings is not None:
            with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                for chunk in shared_strings:
                    part.write(chunk)
    return buffer.getvalue()


def far_corner():
    """One cell at the sheet's last row and column, declared so in the dimension: about 1.9 KB."""
    cell = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    return workbook(sheet_xml(cell, dimension="A1:XFD1048576"))


def far_corner_undeclared():
    """The same cell, with an honest-looking dimension."""
    cell = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    return workbook(sheet_xml(cell, dimension="A1:C2"))


def shared_strings_chunks(count, text="a", declared=None):
    declared = count if declared is None else declared
    yield f'<?xml version="1.0"?><sst xmlns="{NS}" count="{declared}" uniqueCount="{declared}">'.encode()
    item = f"<si><t>{text}</t></si>".encode()
    block = item * 10_000
    for _ in range(count // 10_000):
        yield block
    yield item * (count % 10_000)
    yield b"</sst>"


def many_shared_strings(count, declared=None):
    """A valid sheet whose shared-strings part holds `count` strings; row 2 uses the first."""
    return workbook(sheet_xml('<row r="2"><c r="A2" t="s"><v>0</v></c></row>'),
                    shared_strings_chunks(count, declared=declared))
