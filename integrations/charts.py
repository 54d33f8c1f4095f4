"""Server-rendered SVG charts for the dashboard: every value is written on the chart, so nothing needs
hovering, and no JavaScript or charting library is involved. Colours come from CSS classes (ops.css)."""

from dataclasses import dataclass

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

WIDE, NARROW, HEIGHT = 900, 440, 170  # viewBox widths close to the drawn size, so text keeps its size
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 16, 22


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # the class that colours its bars
    values: list


def _rows(template, rows):
    """format_html_join for rows of numbers, CSS classes and text escaped beforehand: a chart has hundreds of
    elements, and escaping each number again is most of the cost of drawing it."""
    return mark_safe("".join(template.format(*row) for row in rows))


def _plot(days, width):
    """Geometry shared by the bar charts: the x of each day's bar, its width, and the plot's height."""
    step = (width - LEFT - RIGHT) / max(1, len(days))
    return [LEFT + index * step for index in range(len(days))], max(2.0, step * 0.72), HEIGHT - TOP - BOTTOM


def _frame(days, top_value, chart_width, unit=""):
    """Axis, the top grid line with its value, and a date under every fifth day (and the last)."""
    baseline = HEIGHT - BOTTOM
    xs, width, _height = _plot(days, chart_width)
    dates = _rows('<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>', (
        (round(x + width / 2, 1), HEIGHT - 6, day.strftime("%m-%d"))
        for index, (x, day) in enumerate(zip(xs, days)) if index % 5 == 0 or index == len(days) - 1))
    return format_html(
        '<line class="chart-grid" x1="{left}" y1="{top}" x2="{right}" y2="{top}"/>'
        '<text class="chart-axis" x="{label_x}" y="{label_y}" text-anchor="end">{top_value}{unit}</text>'
        '<line class="chart-base" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>{dates}',
        left=LEFT, right=chart_width - RIGHT, top=TOP, base=baseline, label_x=LEFT - 4, label_y=TOP + 4,
        top_value=_number(top_value), unit=unit, dates=dates)


def _svg(label, width, body, legend=""):
    return format_html('<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>'
                       '<figcaption>{}</figcaption></figure>', width, HEIGHT, label, body, legend)


def _number(value):
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    return str(value)


def stacked_bars(label, days, series, width=WIDE):
    """One bar per day stacking the series; each day's total above its bar; a legend with 30-day totals."""
    totals = [sum(values) for values in zip(*(item.values for item in series))] or [0] * len(days)
    top_value = max(totals + [1])
    xs, bar_width, height = _plot(days, width)
    rects, labels = [], []
    labels_escaped = [(item, escape(item.css), escape(item.label)) for item in series]
    for index, x in enumerate(xs):
        y = HEIGHT - BOTTOM
        for item, css, text in labels_escaped:
            value = item.values[index]
            if value:
                bar = height * value / top_value
                y -= bar
                rects.append((css, round(x, 1), round(y, 1), round(bar_width, 1), round(bar, 1), text, value))
        if totals[index]:
            labels.append((round(x + bar_width / 2, 1), round(y - 3, 1), totals[index]))
    body = format_html(
        "{}{}{}", _frame(days, top_value, width),
        _rows('<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>', rects),
        _rows('<text class="chart-value" x="{}" y="{}" text-anchor="middle">{}</text>', labels))
    legend = format_html_join(" ", '<span class="chart-key {}"></span>{} <strong>{}</strong>',
                              ((item.css, item.label, sum(item.values)) for item in series))
    return _svg(label, width, body, legend)


def bars(label, days, values, *, css, unit="", caption="", width=NARROW):
    """One series, a bar per day with its value above it (None: no data that day)."""
    present = [value for value in values if value is not None]
    top_value = max(present + [1])
    xs, bar_width, height = _plot(days, width)
    rects, labels = [], []
    css = escape(css)
    for x, value in zip(xs, values):
        if value is None:
            continue
        bar = max(1.0, height * value / top_value)
        y = HEIGHT - BOTTOM - bar
        rects.append((css, round(x, 1), round(y, 1), round(bar_width, 1), round(bar, 1)))
        labels.append((round(x + bar_width / 2, 1), round(y - 3, 1), _number(value)))
    body = format_html(
        "{}{}{}", _frame(days, top_value, width, unit),
        _rows('<rect class="{}" x="{}" y="{}" width="{}" height="{}"/>', rects),
        _rows('<text class="chart-value" x="{}" y="{}" text-anchor="middle">{}</text>', labels))
    return _svg(label, width, body, caption)


def share_bar(label, parts):
    """A horizontal bar split by share, each part labelled with its name and count: [(label, css, count)]."""
    parts = [part for part in parts if part[2]]
    total = sum(count for _label, _css, count in parts)
    if not total:
        return ""
    width, x, rects = WIDE, 0.0, []
    for name, css, count in parts:
        share = width * count / total
        rects.append((css, round(x, 1), round(share, 1), name, count))
        x += share
    legend = format_html_join(" ", '<span class="chart-key {}"></span>{} <strong>{}</strong> ({}%)',
                              ((css, name, count, round(100 * count / total)) for name, css, count in parts))
    body = format_html_join("", '<rect class="{}" x="{}" y="4" width="{}" height="18"><title>{}: {}</title></rect>',
                            rects)
    return format_html('<figure class="chart chart-share"><svg viewBox="0 0 {} 26" role="img" aria-label="{}">{}'
                       '</svg><figcaption>{}</figcaption></figure>', width, label, body, legend)


def empty(text):
    return format_html('<p class="chart-empty">{}</p>', text)

