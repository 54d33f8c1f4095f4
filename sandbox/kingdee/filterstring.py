"""The FilterString subset real integrations send to ExecuteBillQuery, parsed and evaluated.

Comparisons (= <> != < > <= >=), [not] like, [not] in (...), is [not] null, between,
and / or / not, parentheses, string literals ('x', N'x', '' escapes) and numbers.
Pure: the caller supplies `resolve(key)` for one row.
"""

import re
from decimal import Decimal, InvalidOperation

TOKEN = re.compile(
    r"\s*(?:(?P<string>N?'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])|(?P<op><>|!=|<=|>=|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_\u4e00-\u9fff][\w.\u4e00-\u9fff]*))",
)
KEYWORDS = {"and", "or", "not", "like", "in", "is", "null", "between"}


class FilterError(ValueError):
    pass


def tokenize(text):
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise FilterError(f"过滤条件语法错误：无法识别“{text[position:position + 20]}”")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[value.index("'") + 1:-1].replace("''", "'")
        elif kind == "number":
            value = Decimal(value)
        elif kind == "word" and value.lower() in KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.index = 0

    def peek(self, kind=None, value=None):
        if self.index >= len(self.tokens):
            return None
        token = self.tokens[self.index]
        if (kind and token[0] != kind) or (value is not None and token[1] != value):
            return None
        return token

    def take(self, kind=None, value=None):
        token = self.peek(kind, value)
        if token is None:
            found = self.tokens[self.index][1] if self.index < len(self.tokens) else "结尾"
            raise FilterError(f"过滤条件语法错误：在“{found}”附近需要 {value or kind}")
        self.index += 1
        return token

    def parse(self):
        node = self.or_expr()
        if self.index != len(self.tokens):
            raise FilterError(f"过滤条件语法错误：“{self.tokens[self.index][1]}”附近有多余内容")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.peek("keyword", "or"):
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.peek("keyword", "and"):
            self.take()
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.peek("keyword", "not"):
            self.take()
            return ("not", self.not_expr())
        if self.peek("punct", "("):
            self.take()
            node = self.or_expr()
            self.take("punct", ")")
            return node
        return self.comparison()

    def operand(self):
        token = self.peek()
        if token and token[0] == "word":
            self.take()
            return ("field", token[1])
        if token and token[0] in ("string", "number"):
            self.take()
            return ("lit", token[1])
        raise FilterError(f"过滤条件语法错误：在“{token[1] if token else '结尾'}”处需要字段或值")

    def comparison(self):
        left = self.operand()
        negate = bool(self.peek("keyword", "not")) and bool(self.take())
        if self.peek("keyword", "like"):
            self.take()
            return ("like", left, self.operand(), negate)
        if self.peek("keyword", "in"):
            self.take()
            return ("in", left, self.literal_list(), negate)
        if negate:
            raise FilterError("过滤条件语法错误：not 之后需要 like 或 in")
        if self.peek("keyword", "is"):
            self.take()
            negate = bool(self.peek("keyword", "not")) and bool(self.take())
            self.take("keyword", "null")
            return ("null", left, negate)
        if self.peek("keyword", "between"):
            self.take()
            low = self.operand()
            self.take("keyword", "and")
            return ("and", ("cmp", ">=", left, low), ("cmp", "<=", left, self.operand()))
        op = self.take("op")[1]
        return ("cmp", "<>" if op == "!=" else op, left, self.operand())

    def literal_list(self):
        self.take("punct", "(")
        values = [self.operand()]
        while self.peek("punct", ","):
            self.take()
            values.append(self.operand())
        self.take("punct", ")")
        if any(kind != "lit" for kind, _value in values):
            raise FilterError("过滤条件语法错误：in 列表只能包含常量")
        return [value for _kind, value in values]


def parse(text):
    """The syntax tree of a filter; None for an empty filter."""
    if not (text or "").strip():
        return None
    return _Parser(tokenize(text)).parse()


def field_keys(node):
    """Every field key the filter mentions."""
    if node is None:
        return set()
    if node[0] == "field":
        return {node[1]}
    return set().union(*(field_keys(part) for part in node[1:] if isinstance(part, tuple)))


def equalities(node):
    """{KEY: values} that every matching row must satisfy (top-level `and` of `=` / `in`)."""
    if node is None:
        return {}
    if node[0] == "and":
        found = equalities(node[1])
        for key, values in equalities(node[2]).items():
            found[key] = found[key] & values if key in found else values
        return found
    if node[0] == "cmp" and node[1] == "=" and node[2][0] == "field" and node[3][0] == "lit":
        return {node[2][1].upper(): {str(node[3][1])}}
    if node[0] == "in" and not node[3] and node[1][0] == "field":
        return {node[1][1].upper(): {str(value) for value in node[2]}}
    return {}


def evaluate(node, resolve):
    if node is None:
        return True
    kind = node[0]
    if kind == "or":
        return evaluate(node[1], resolve) or evaluate(node[2], resolve)
    if kind == "and":
        return evaluate(node[1], resolve) and evaluate(node[2], resolve)
    if kind == "not":
        return not evaluate(node[1], resolve)
    left = _value(node[1] if kind != "cmp" else node[2], resolve)
    if kind == "null":
        return (left in (None, "")) != node[2]
    if kind == "like":
        return _like(left, _value(node[2], resolve)) != node[3]
    if kind == "in":
        return any(compare(left, "=", value) for value in node[2]) != node[3]
    return compare(left, node[1], _value(node[3], resolve))


def _value(operand, resolve):
    return resolve(operand[1]) if operand[0] == "field" else operand[1]


def as_number(value):
    if isinstance(value, bool):
        return Decimal(int(value))
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _comparable(left, right):
    """Numbers compare as numbers; a date literal compares with a stored datetime at midnight."""
    if left is None or right is None:
        return None, None
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return a, b
    a, b = str(left), str(right)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", a) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", b):
        b += "T00:00:00"
    b = b.replace(" ", "T", 1) if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", b) else b
    return a, b


def compare(left, op, right):
    a, b = _comparable(left, right)
    if a is None:
        return False  # SQL: a comparison with NULL is never true
    return {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _like(value, pattern):
    if value is None or pattern is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None
