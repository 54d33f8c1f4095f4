"""Filters every message template has without a {% load %}: amounts and quantities as Chinese readers expect."""

from decimal import Decimal, InvalidOperation

from django import template

from integrations import deeplinks

register = template.Library()


def _decimal(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def money(value, places=2):
    """12345.6 → 12,345.60"""
    number = _decimal(value)
    return value if number is None else f"{number:,.{int(places)}f}"


@register.filter
def qty(value):
    """1200 → 1,200; 12.50 → 12.5"""
    number = _decimal(value)
    if number is None:
        return value
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number.normalize():,f}"


@register.filter
def kingdee_bill(bill_id, form_id):
    """A link that opens the bill in Kingdee for the reader, through the portal's SSO:
    `[{{ row.number }}]({{ row.id|kingdee_bill:"SAL_OUTSTOCK" }})`."""
    return deeplinks.bill_url(form_id, bill_id)
