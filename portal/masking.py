"""Field-level masking: values of fields IT marks as sensitive (bank accounts…) shown as their last four digits.

Pure: takes the field names, walks JSON as the ledger keeps it (a source record's form by label, a payload by
Kingdee field key, DingTalk's [{"name": label, "value": …}] lists) and returns a masked copy.
"""

MASK = "****"
SHOWN = 4


def mask_value(value):
    """"6222754039751683652" → "****3652"; short values keep nothing."""
    text = "" if value is None else str(value)
    return MASK + text[-SHOWN:] if len(text) > 2 * SHOWN else MASK if text else text


class Masker:
    """Masks one reader's view of a record; remembers the values it hid so free text (a reason) hides them too."""

    def __init__(self, names):
        self.names = {name.strip().casefold() for name in names if name.strip()}
        self.hidden = set()

    def sensitive(self, key):
        return isinstance(key, str) and key.casefold() in self.names

    def hide(self, value):
        if isinstance(value, dict):
            return {key: self.hide(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.hide(item) for item in value]
        if value in (None, ""):
            return value
        self.hidden.add(str(value))
        return mask_value(value)

    def data(self, value):
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if not isinstance(value, dict):
            return value
        labelled = self.sensitive(value.get("name")) or self.sensitive(value.get("label"))
        return {key: self.hide(item) if self.sensitive(key) or (labelled and key in ("value", "ext_value"))
                else self.data(item) for key, item in value.items()}

    def scrub(self, value):
        """Hide values found under sensitive fields wherever else they turn up (a message quoting one)."""
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        return self.text(value) if isinstance(value, str) else value

    def text(self, text):
        for value in sorted(self.hidden, key=len, reverse=True):
            if len(value) >= SHOWN:
                text = text.replace(value, mask_value(value))
        return text
