"""The first sheet of an uploaded .xlsx, or a CSV, read with bounded memory, as a person sees it in Excel/WPS.

A spreadsheet is a zip of XML that declares its own sizes, and general-purpose readers believe them: a 2 KB
file naming cell XFD1048576 makes them build a billion empty cells, a shared-strings part of a few MB costs
gigabytes. Here the parts are streamed, refused past fixed limits, and only the columns the caller asks for
are kept — with shared strings looked up only for the cells kept. Row numbers are the ones Excel/WPS shows
(an .xlsx row's own number; a CSV record's position, blank lines included). Merged cells are read as the
value they show on every row they cover. A formula whose result was never calculated (files written by
programs, not by Excel) comes back as `Uncached`, a cell showing an error as `CellError`: the caller names
the cell rather than reading a blank.
"""

import csv
import io
import posixpath
import re
import zipfile
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError, iterparse

from django.utils.translation import gettext as _

MAX_ROWS = 100_000  # data rows below the header
MAX_COLUMNS = 100
MAX_CELL_CHARS = 1000  # longer text is cut here (every column of ours is far shorter, so it is refused)
MAX_SHEET_BYTES = 200 * 1024 * 1024  # the sheet's XML, uncompressed
MAX_SHARED_STRINGS_BYTES = 100 * 1024 * 1024
MAX_SHARED_STRINGS = 1_000_000
MAX_MERGED_RANGES = 20_000
MAX_CSV_LINE = 100_000

CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")
RANGE_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?$")
SHEET_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


class UnreadableFile(ValueError):
    """The file as a whole cannot be used (wrong format, too large, missing header)."""


@dataclass(frozen=True)
class Uncached:
    """A formula cell without its calculated value."""

    cell: str


@dataclass(frozen=True)
class CellError:
    """A cell showing an error such as #N/A or #REF!."""

    cell: str
    text: str


@dataclass
class Table:
    headers: list  # the first row's text, one per column
    rows: list = field(default_factory=list)  # (row number, {column index: value}) for the kept columns


def column_letters(index):
    """0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters):
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def cell_name(column, row):
    return f"{column_letters(column)}{row}"


def too_far(reference):
    return UnreadableFile(_(
        "The sheet reaches cell %(cell)s; an import reads at most %(rows)s rows and %(columns)s columns. Delete the "
        "rows and columns beyond your data (select them, right-click, Delete), save and upload again.") % {
        "cell": reference, "rows": MAX_ROWS + 1, "columns": MAX_COLUMNS})


def read(content, file_name, keep):
    """The file's Table; `keep(header text)` says which columns to keep. Raises UnreadableFile."""
    name = file_name.lower()
    if name.endswith(".xlsx"):
        return XlsxReader(content, keep).read()
    if name.endswith(".csv"):
        return read_csv(content, keep)
    raise UnreadableFile(_("Upload an .xlsx or .csv file."))


# ---- CSV ---------------------------------------------------------------------------------------


def decode_csv(content):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(_("The CSV file is neither UTF-8 nor GB18030 text."))


def read_csv(content, keep):
    text = decode_csv(content)
    long_line = re.search(r"[^\n]{%d}" % MAX_CSV_LINE, text)  # a million empty fields would each cost memory
    if long_line:
        raise UnreadableFile(_("Line %(row)s of the CSV file is longer than %(limit)s characters.") % {
            "row": text.count("\n", 0, long_line.start()) + 1, "limit": MAX_CSV_LINE})
    records = csv.reader(io.StringIO(text, newline=""))
    table, kept = None, {}
    number = 0
    try:
        for number, record in enumerate(records, 1):  # a blank line is a (blank) row in Excel too
            if table is None:
                headers = [text.strip() for text in record[:MAX_COLUMNS]]
                table, kept = Table(headers=headers), {i: h for i, h in enumerate(headers) if keep(h)}
                continue
            if number > MAX_ROWS + 1:
                raise too_far(cell_name(0, number))
            table.rows.append((number, {i: record[i][: MAX_CELL_CHARS + 1] for i in kept if i < len(record)}))
    except csv.Error as error:
        raise UnreadableFile(_("Row %(row)s of the CSV file cannot be read: %(error)s") % {
            "row": number + 1, "error": error}) from None
    return table or Table(headers=[])


# ---- xlsx --------------------------------------------------------------------------------------


def local(tag):
    return tag.rpartition("}")[2]


class XlsxReader:
    def __init__(self, content, keep):
        self.keep = keep
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(content))
            self.names = {info.filename: info for info in self.zip.infolist()}
        except (zipfile.BadZipFile, ValueError, OSError):
            raise UnreadableFile(_("The file cannot be read as %(kind)s.") % {"kind": "xlsx"}) from None

    def read(self):
        try:
            sheet = self.first_sheet()
            self.check_size(sheet, MAX_SHEET_BYTES)
            header_number, header_refs = self.header_row(sheet)
            shared = self.shared_strings({v for v in header_refs.values() if isinstance(v, SharedRef)})
            headers = [""] * (max(header_refs, default=-1) + 1)
            for column, value in header_refs.items():
                headers[column] = text_of(resolve(value, shared)).strip()
            kept = {i for i, header in enumerate(headers) if header and self.keep(header)}
            table, merged = self.body(sheet, headers, kept, header_number)
            used = {value for _n, row in table.rows for value in row.values() if isinstance(value, SharedRef)}
            shared = self.shared_strings(used)
            table.rows = [(number, {i: resolve(v, shared) for i, v in row.items()}) for number, row in table.rows]
            fill_merged(table, merged, kept, header_number)
            return table
        except (ParseError, zipfile.BadZipFile, EOFError, KeyError, ValueError) as error:
            if isinstance(error, UnreadableFile):
                raise
            raise UnreadableFile(_("The file cannot be read as %(kind)s.") % {"kind": "xlsx"}) from None

    def first_sheet(self):
        """The path of the workbook's first sheet (the one Excel opens on is not always sheet1.xml)."""
        try:
            workbook = self.small_xml("xl/workbook.xml")
            relations = self.small_xml("xl/_rels/workbook.xml.rels")
        except KeyError:
            return "xl/worksheets/sheet1.xml"
        first = next((e for e in workbook.iter() if local(e.tag) == "sheet"), None)
        wanted = next((value for key, value in (first.attrib.items() if first is not None else [])
                       if local(key) == "id"), None)
        for relation in relations.iter():
            if local(relation.tag) == "Relationship" and relation.get("Id") == wanted:
                target = relation.get("Target", "")
                return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
        return "xl/worksheets/sheet1.xml"

    def small_xml(self, name):
        self.check_size(name, 5 * 1024 * 1024)
        root = None
        for _event, element in self.parse(name, ("end",)):
            root = element
        return root

    def check_size(self, name, limit):
        info = self.names.get(name)
        if info is None:
            raise UnreadableFile(_("The file cannot be read as %(kind)s.") % {"kind": "xlsx"})
        if info.file_size > limit:
            raise UnreadableFile(_("The sheet is larger than an import reads (%(size)s MB of XML); split the file.")
                                 % {"size": info.file_size // (1024 * 1024)})

    def parse(self, name, events):
        """Stream the XML of one part; a DTD (the door to entity expansion) is refused."""
        stream = self.zip.open(name)
        head = stream.peek(512)[:512] if hasattr(stream, "peek") else b""
        if b"<!DOCTYPE" in head.upper():
            raise UnreadableFile(_("The file cannot be read as %(kind)s.") % {"kind": "xlsx"})
        return iterparse(stream, events=events)

    def rows(self, sheet):
        """Yield (row number, [(column, value)]) for each row with a value; also checks the declared range."""
        self.merged = []
        parent, last_row = None, 0
        for event, element in self.parse(sheet, ("start", "end")):
            tag = local(element.tag)
            if event == "start":
                if tag in ("sheetData", "mergeCells"):
                    parent = element
                elif tag == "dimension":
                    check_dimension(element.get("ref", ""))
                continue
            if tag == "row":
                last_row = int(element.get("r") or last_row + 1)
                cells = list(self.cells(element, last_row))
                parent.clear()
                if cells:
                    yield last_row, cells
            elif tag == "mergeCell":
                self.merged.append(element.get("ref", ""))
                if len(self.merged) > MAX_MERGED_RANGES:
                    raise UnreadableFile(_("The sheet has more than %(count)s merged ranges.") % {
                        "count": MAX_MERGED_RANGES})
                parent.clear()

    def cells(self, row, number):
        column = -1
        for cell in row:
            if local(cell.tag) != "c":
                continue
            reference = cell.get("r")
            if reference:
                match = CELL_REF.match(reference)
                if not match:
                    raise UnreadableFile(_("The file cannot be read as %(kind)s.") % {"kind": "xlsx"})
                column = column_index(match[1])
            else:
                column += 1
            value = cell_value(cell, cell_name(column, number))
            if value is None:
                continue
            if column >= MAX_COLUMNS or number > MAX_ROWS + 1:
                raise too_far(cell_name(column, number))
            yield column, value

    def header_row(self, sheet):
        """(row number, {column: value}) of the first row with a value: the headers."""
        for number, cells in self.rows(sheet):
            return number, dict(cells)
        return 0, {}

    def body(self, sheet, headers, kept, header_number):
        table = Table(headers=headers)
        for number, cells in self.rows(sheet):
            if number > header_number:
                table.rows.append((number, {column: value for column, value in cells if column in kept}))
        return table, self.merged

    def shared_strings(self, wanted):
        """{index: text} of the wanted shared strings only."""
        name = "xl/sharedStrings.xml"
        if not wanted or name not in self.names:
            return {}
        self.check_size(name, MAX_SHARED_STRINGS_BYTES)
        found, index, root = {}, 0, None
        for event, element in self.parse(name, ("start", "end")):
            tag = local(element.tag)
            if event == "start":
                if tag == "sst":
                    root = element
                    declared = element.get("uniqueCount") or element.get("count") or "0"
                    if declared.isdigit() and int(declared) > MAX_SHARED_STRINGS:
                        raise too_many_strings()
                continue
            if tag == "si":
                if SharedRef(index) in wanted:
                    found[SharedRef(index)] = rich_text(element)[: MAX_CELL_CHARS + 1]
                index += 1
                if index > MAX_SHARED_STRINGS:
                    raise too_many_strings()
                root.clear()
        return found


def too_many_strings():
    return UnreadableFile(_("The file holds more than %(count)s different texts; an import reads fewer.") % {
        "count": MAX_SHARED_STRINGS})


def rich_text(element):
    """The text of a shared or inline string: plain, or runs (<r><t>); phonetic guides (<rPh>) are no part of it."""
    parts = []
    for child in element:
        tag = local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if local(t.tag) == "t")
    return "".join(parts)


@dataclass(frozen=True)
class SharedRef:
    index: int


def check_dimension(reference):
    match = RANGE_REF.match(reference.upper())
    if not match:
        return
    letters, digits = (match[3], match[4]) if match[3] else (match[1], match[2])
    if column_index(letters) >= MAX_COLUMNS or int(digits) > MAX_ROWS + 1:
        raise too_far(f"{letters}{digits}")


def cell_value(cell, name):
    """The value a cell shows: text, number, bool, SharedRef, Uncached, CellError or None (empty)."""
    kind = cell.get("t", "n")
    value = formula = inline = None
    for child in cell:
        tag = local(child.tag)
        if tag == "v":
            value = child.text or ""
        elif tag == "f":
            formula = True
        elif tag == "is":
            inline = rich_text(child)
    if kind == "inlineStr":
        return inline[: MAX_CELL_CHARS + 1] if inline is not None else None
    if value is None or (formula and not value and kind != "str"):  # <v/>: written by a program, never calculated
        return Uncached(name) if formula else None
    if kind == "s":
        return SharedRef(int(value))
    if kind in ("str", "d"):
        return value[: MAX_CELL_CHARS + 1]
    if kind == "b":
        return value.strip() == "1"
    if kind == "e":
        return CellError(name, value)
    return number(value)


def number(text):
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text[: MAX_CELL_CHARS + 1]


def resolve(value, shared):
    return shared.get(value, "") if isinstance(value, SharedRef) else value


def text_of(value):
    return "" if value is None or isinstance(value, (Uncached, CellError)) else str(value)


def fill_merged(table, merged, kept, header_number):
    """A merged range shows its top-left value on every cell it covers (on rows that hold anything); ranges
    across columns or reaching the header are refused, naming the range."""
    numbers = [number for number, _cells in table.rows]
    by_number = dict(table.rows)
    budget = (len(numbers) + 1) * max(1, len(kept))  # ranges never overlap in a file Excel wrote
    for reference in merged:
        match = RANGE_REF.match(reference.upper())
        if not match or not match[3]:
            continue
        first_col, first_row = column_index(match[1]), int(match[2])
        last_col, last_row = column_index(match[3]), int(match[4])
        if not any(first_col <= column <= last_col for column in kept):
            continue
        if first_col != last_col or first_row <= header_number:
            raise UnreadableFile(_(
                "Cells %(range)s are merged across columns or with the header; unmerge them (开始 → 合并后居中 → "
                "取消单元格合并), fill in every cell, and upload again.") % {"range": reference})
        shown = by_number.get(first_row, {}).get(first_col)
        start, end = bisect_right(numbers, first_row), bisect_left(numbers, last_row + 1)
        budget -= max(0, end - start)
        if budget < 0:
            raise UnreadableFile(_("The sheet's merged cells overlap; unmerge them and upload again."))
        for number in numbers[start:end]:
            row = by_number[number]
            if row.get(first_col) is None:
                row[first_col] = shown
