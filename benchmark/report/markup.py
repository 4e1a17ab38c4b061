"""Small building blocks shared by the report's sections: escaping, numbers, tables, figures.

Every value that came from a user (task, column, candidate, error text) goes through
:func:`esc`; a cell given as a dict carries text that is already escaped.  The plain-text number
formatters (:func:`fixed`, :func:`p_text`, :func:`seconds_text`) are also used by the text,
Markdown and JUnit outputs of ``bench rank`` and ``bench regress``; :func:`p_fmt` is
:func:`p_text` for HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from benchmark.report.palette import Style


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt(x: Any, digits: int = 4) -> str:
    """A number for a table: ``digits`` significant decimals, ``–`` for missing, text escaped."""
    if x is None or (isinstance(x, (float, np.floating)) and not math.isfinite(x)):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}".replace(",", "\u202f")
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
            return f"{x:.{max(1, digits - 1)}e}"
        if abs(x) >= 1000:
            return f"{x:,.0f}".replace(",", "\u202f")
        return f"{x:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{x:.{digits}f}" else f"{x:.{digits}f}"
    return esc(x)


def fixed(x: Any, digits: int = 4, *, missing: str = "–", sign: bool = False, inf: bool = False) -> str:
    """A number as plain text with ``digits`` fixed decimals (``0.8123``; ``+0.0120`` with ``sign``).

    ``missing`` stands for None and NaN, and for ±inf unless ``inf`` (then ``inf``/``-inf``).
    """
    if x is None:
        return missing
    v = float(x)
    if math.isnan(v) or (math.isinf(v) and not inf):
        return missing
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def p_text(p: Any, *, missing: str = "–", below: str = "<0.001") -> str:
    """A p-value as plain text: three decimals, ``below`` under 0.001, ``missing`` when not finite."""
    if not finite(p):
        return missing
    p = float(p)
    return below if p < 0.001 else f"{p:.3f}"


def seconds_text(x: Any, *, missing: str = "–") -> str:
    """Seconds as plain text: three decimals under 10 s, one from there on."""
    if not finite(x):
        return missing
    x = float(x)
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def p_fmt(p: Any) -> str:
    """A p-value for a table (HTML): three decimals, ``&lt; 0.001`` below that."""
    return p_text(p, below="&lt; 0.001")


def p_eq(p: Any) -> str:
    """A p-value in running text: ``p = 0.135`` or ``p &lt; 0.001``."""
    text = p_fmt(p)
    return f"p {text}" if text.startswith("&lt;") else f"p = {text}"


def p_sentence(p: Any) -> str:
    """A p-value in a conclusion sentence: ``p = 0.013``, ``p = 0.24`` (two decimals from 0.1),
    ``p &lt; 0.001`` or ``p n/a``."""
    if not finite(p):
        return "p n/a"
    p = float(p)
    return "p &lt; 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def score_fmt(x: Any, *, sd: bool = False) -> str:
    """A score (or, with ``sd``, its standard deviation) with fixed decimals by magnitude, so a
    column lines up: 0.9871, 54.626, 712.34, 12 345 (one decimal fewer for a standard deviation)."""
    if not finite(x):
        return "–"
    x = float(x)
    a = abs(x)
    digits = 4 if a < 10 else 3 if a < 100 else 2 if a < 1000 else 0
    if sd:
        digits = max(0, digits - 1)
    if digits == 0:
        return f"{x:,.0f}".replace(",", "\u202f")
    return f"{x:.{digits}f}"


def sd_fmt(x: Any) -> str:
    """A standard deviation next to a score (see :func:`score_fmt`)."""
    return score_fmt(x, sd=True)


def num(x: Any, digits: int = 4, *, cls: str = "", text: str | None = None) -> dict[str, Any]:
    """A numeric cell that sorts by its value (missing values sort last)."""
    return {"text": text if text is not None else fmt(x, digits), "sort": repr(float(x)) if finite(x) else "", "cls": cls}


def swatch(style: Style | None) -> str:
    if style is None:
        return ""
    return f'<span class="sw" style="background:{style.colour}" aria-hidden="true"></span>'


def cand_cell(name: str, style: Style | None) -> dict[str, Any]:
    return {"text": f"{swatch(style)}{esc(name)}", "sort": str(name), "cls": "name"}


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sortable: bool = False, cls: str = "", caption: str = "", attrs: str = "") -> str:
    """A table; a header item is text, ``(text, title)`` or ``(text, title, class)`` (``"text"``
    left-aligns a column of words); a cell is a value or a dict
    ``{text (escaped HTML), sort, cls, title}``."""
    head = []
    for h in header:
        text, title, hcls = (tuple(h) + ("", ""))[:3] if isinstance(h, tuple) else (h, "", "")
        t = (f' title="{esc(title)}"' if title else "") + (f' class="{hcls}"' if hcls else "")
        head.append(f'<th scope="col"{t}>{esc(text)}</th>')
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, dict):
                a = f' class="{cell["cls"]}"' if cell.get("cls") else ""
                if cell.get("sort") is not None:
                    a += f' data-v="{esc(cell["sort"])}"'
                if cell.get("title"):
                    a += f' title="{esc(cell["title"])}"'
                cells.append(f"<td{a}>{cell['text']}</td>")
            else:
                cells.append(f"<td>{fmt(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    classes = " ".join(c for c in ("sortable" if sortable else "", cls) if c)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (f'<div class="tablewrap"><table class="{classes}"{attrs}>{cap}<thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def figure(svg: str, caption: str, *, name: str, wide: bool = False) -> str:
    """A figure block: the inline SVG and its caption (HTML, already escaped)."""
    return (f'<figure class="fig{" wide" if wide else ""}" data-figure="{esc(name)}"><div class="svg">{svg}</div>'
            f"<figcaption>{caption}</figcaption></figure>")


def kv(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column key/value table; keys are escaped here, values are HTML."""
    return '<table class="kv"><tbody>' + "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in rows) + "</tbody></table>"
