"""Read an identity-map spreadsheet and find every bad row before anything is written.

Excel quietly damages identity data: a mobile typed into a number cell comes back as
13800138000.0, a staff number 000123 as 123. Such values are refused with the row
number and a reason a person can act on, rather than guessed at; so is anything the
model would refuse later, so that a file is either wholly valid or not imported at all.
"""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from sso import spreadsheet
from sso.spreadsheet import CellError, Uncached, UnreadableFile  # noqa: F401  (UnreadableFile: callers catch it)

# The file's contract: these headers, in Chinese, whatever the UI language.
USERID, NAME, MOBILE, KINGDEE_USER, STAFF_NUMBER, ACTIVE = "钉钉用户ID", "姓名", "手机号", "金蝶用户名", "金蝶员工编码", "启用"
COLUMNS = {
    USERID: "dingtalk_userid",
    NAME: "name",
    MOBILE: "mobile",
    KINGDEE_USER: "kingdee_username",
    STAFF_NUMBER: "kingdee_staff_number",
    ACTIVE: "active",
}
MAX_LENGTHS = {USERID: 64, NAME: 100, MOBILE: 30, KINGDEE_USER: 100, STAFF_NUMBER: 50}
# A numeric cell in these columns has lost its leading zeros (or was never text).
CODE_COLUMNS = (USERID, STAFF_NUMBER)
# Ids are compared character by character: what a person cannot see must not make two of them differ.
ID_COLUMNS = (USERID, MOBILE, KINGDEE_USER, STAFF_NUMBER)
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u00a0"  # zero-width characters, soft hyphen, no-break space
FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# A CSV export puts ' before these, so that Excel/WPS shows the text rather than running it as a formula.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

TRUE_WORDS = {"是", "启用", "有效", "y", "yes", "true", "t", "1", "√", "✓"}
FALSE_WORDS = {"否", "停用", "禁用", "无效", "n", "no", "false", "f", "0", "×", "✗"}

FLOAT_AS_TEXT = re.compile(r"^[+-]?\d+\.\d*([eE][+-]?\d+)?$|^[+-]?\d+[eE][+-]?\d+$")
MOBILE_TEXT = re.compile(r"^\+?[0-9][0-9 ()-]{4,28}[0-9]$")


@dataclass
class CheckedFile:
    headers: list  # the known columns present, in file order
    rows: list = field(default_factory=list)  # (row number, {header: clean value}) of the good rows
    bad_rows: list = field(default_factory=list)  # (row number, reason)
    normalised: list = field(default_factory=list)  # (row number, what was changed) for rows read differently

    @property
    def total(self):
        return len(self.rows) + len(self.bad_rows)


def read(content, file_name):
    """The checked file (.xlsx or .csv bytes); raises UnreadableFile."""
    return check_table(spreadsheet.read(content, file_name, keep=lambda header: normalise_id(header) in COLUMNS))


def check_table(table):
    """Every row checked; rows that are wholly empty are ignored."""
    headers = [normalise_id(h) for h in table.headers]
    if USERID not in headers:
        raise UnreadableFile(_("The first row must hold the column headers, including %(column)s.") % {"column": USERID})
    duplicates = [h for h in COLUMNS if headers.count(h) > 1]
    if duplicates:
        raise UnreadableFile(_("Column %(column)s appears twice.") % {"column": duplicates[0]})
    positions = {h: i for i, h in enumerate(headers) if h in COLUMNS}
    checked = CheckedFile(headers=list(positions))
    first_seen = {}
    for number, raw in table.rows:
        cells = {h: raw.get(i) for h, i in positions.items()}
        if all(is_blank(v) for v in cells.values()):
            continue
        clean, reasons, changes = check_row(cells)
        userid = clean.get(USERID)
        if userid:
            if userid in first_seen:
                reasons.append(_("%(column)s %(value)s is also on row %(row)s") % {
                    "column": USERID, "value": userid, "row": first_seen[userid]})
            else:
                first_seen[userid] = number
        if reasons:
            checked.bad_rows.append((number, "；".join(reasons)))
        else:
            checked.rows.append((number, clean))
            if changes:
                checked.normalised.append((number, "；".join(changes)))
    return checked


def check_row(cells):
    """({header: clean value}, [reasons], [what normalising changed]) for one row's cells."""
    clean, reasons, changes = {}, [], []
    for header, value in cells.items():
        if isinstance(value, (Uncached, CellError)):
            reasons.append(unusable_cell(header, value))
            clean[header] = ""
            continue
        if header == ACTIVE:
            flag = parse_flag(value)
            if flag is None:
                reasons.append(_("%(column)s must be 是 or 否, not “%(value)s”") % {"column": ACTIVE, "value": value})
            clean[ACTIVE] = flag
            continue
        text, reason = cell_text(header, value)
        if not reason and isinstance(value, str) and text != unescaped(value):
            changes.append(_("%(column)s “%(before)s” read as “%(after)s”") % {
                "column": header, "before": visible(unescaped(value)), "after": text})
        if reason:
            reasons.append(reason)
        elif len(text) > MAX_LENGTHS[header]:
            reasons.append(_("%(column)s is longer than %(limit)s characters") % {
                "column": header, "limit": MAX_LENGTHS[header]})
        clean[header] = text
    if is_blank(cells[USERID]):
        reasons.insert(0, _("%(column)s is missing") % {"column": USERID})
    return clean, reasons, changes


def unusable_cell(header, value):
    if isinstance(value, Uncached):
        return _("%(column)s: cell %(cell)s holds a formula whose result was never calculated; open the file in "
                 "Excel or WPS, save it and upload again") % {"column": header, "cell": value.cell}
    return _("%(column)s: cell %(cell)s shows the error %(error)s") % {
        "column": header, "cell": value.cell, "error": value.text}


def normalise_id(text):
    """Full-width letters and digits as half-width; zero-width characters and no-break spaces removed."""
    return "".join(c for c in str(text).translate(FULL_WIDTH) if c not in INVISIBLE).strip()


def normalise_text(header, text):
    """The text of a cell as it is stored: a leading ' put there by a CSV export dropped, ids normalised."""
    text = unescaped(text)
    return normalise_id(text) if header in ID_COLUMNS else "".join(c for c in text if c not in INVISIBLE[:6]).strip()


def unescaped(text):
    text = text.strip()
    return text[1:] if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_LEADS else text


def visible(text):
    """The text with its invisible characters shown, so a person sees what was removed."""
    return "".join(f"⟨U+{ord(c):04X}⟩" if c in INVISIBLE or c == "\u3000" else c for c in text)


def neutralised(value):
    """A cell for a CSV export: text that Excel/WPS would take for a formula gets a leading '."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_LEADS) else value


def cell_text(header, value):
    """(text, reason or None): the cell as the text a person typed, or why it cannot be trusted."""
    if is_blank(value):
        return "", None
    if isinstance(value, bool):
        return str(value), _("%(column)s holds a true/false value") % {"column": header}
    if isinstance(value, (int, float)):
        return number_text(value), number_reason(header, value)
    text = normalise_text(header, str(value))
    if not text:
        return "", None
    if header == MOBILE and FLOAT_AS_TEXT.match(text):
        return text, stored_as_number(header, text)
    if header in CODE_COLUMNS and FLOAT_AS_TEXT.match(text):
        return text, stored_as_number(header, text)
    if header == MOBILE and not MOBILE_TEXT.match(text):
        return text, _("%(column)s “%(value)s” is not a phone number") % {"column": header, "value": text}
    return text, None


def number_reason(header, value):
    """Numeric cells are fine for names; for phones and codes Excel has already changed them."""
    if header in (MOBILE, *CODE_COLUMNS):
        return stored_as_number(header, value)
    if isinstance(value, float) and not value.is_integer():
        return _("%(column)s holds the number %(value)s") % {"column": header, "value": value}
    return None


def stored_as_number(header, value):
    if header == MOBILE:
        return _("%(column)s was stored by Excel as the number %(value)s: format the column as text and type it again") % {
            "column": header, "value": value}
    return _("%(column)s was stored by Excel as the number %(value)s, which loses leading zeros: format the column "
             "as text and type it again") % {"column": header, "value": value}


def number_text(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_flag(value):
    """True, False, or None for a word we do not know; an empty cell means enabled."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return True
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())
