"""HTML text for the report: escaping, links, inline and block markdown, tables, numbers.

Contract: pure functions of their arguments (no files, no store, no clock). Every function
returns an HTML fragment in which all text that came in as plain text is escaped
(:func:`esc`); only http and https addresses become links, so the page, with its
Content-Security-Policy, loads nothing. Numbers use a true minus sign (−) and an en dash (–)
for a missing value.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "assignments",
    "day",
    "esc",
    "link",
    "linkify",
    "md_block",
    "md_inline",
    "num",
    "source_html",
    "table",
    "ul",
]


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


_URL = re.compile(r"https?://[^\s<>\"'`]+")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def _short_url(url: str, width: int = 60) -> str:
    text = re.sub(r"^https?://(www\.)?", "", url).rstrip("/")
    return text if len(text) <= width else text[: width - 1] + "…"


def link(url: str, text: str | None = None) -> str:
    """An ``<a>`` to ``url`` (http or https only) showing ``text`` or the shortened address."""
    return f'<a href="{esc(url)}">{esc(text if text is not None else _short_url(url))}</a>'


def linkify(text: str) -> str:
    """``text`` escaped, with every http(s) address made a link (trailing punctuation kept
    outside)."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = m.group(0)
        trail = ""
        while url and url[-1] in ".,;:)]":
            trail = url[-1] + trail
            url = url[:-1]
        out.append(esc(text[pos : m.start()]))
        out.append(link(url) + esc(trail))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def source_html(source: str) -> str:
    """A table's source cell: addresses as links, other text escaped."""
    return linkify(source) if source else '<span class="muted">none given</span>'


def md_inline(text: str) -> str:
    """Inline markdown: ``code``, **bold**, [text](url) and bare addresses; all else escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    out: list[str] = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(f"<code>{esc(part[1:-1])}</code>")
            continue
        pieces: list[str] = []
        pos = 0
        for m in _MD_LINK.finditer(part):
            pieces.append(linkify(part[pos : m.start()]))
            pieces.append(link(m.group(2), m.group(1)))
            pos = m.end()
        pieces.append(linkify(part[pos:]))
        joined = "".join(pieces)
        joined = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", joined)
        out.append(joined)
    return "".join(out)


def ul(items: Iterable[str]) -> str:
    """A list of items that are HTML already."""
    return "<ul>" + "".join(f"<li>{t}</li>" for t in items) + "</ul>"


def _split_row(line: str) -> list[str]:
    cells = line.strip().strip("|").split("|")
    return [c.strip() for c in cells]


def md_block(text: str, level: int = 3) -> str:
    """Block markdown: headings (from ``level`` down), paragraphs, lists, tables."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("#"):
            depth = len(stripped) - len(stripped.lstrip("#"))
            h = min(level + depth - 1, 6)
            out.append(f"<h{h}>{md_inline(stripped[depth:].strip())}</h{h}>")
            i += 1
        elif stripped.startswith("|"):
            rows: list[list[str]] = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _split_row(lines[i])
                if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                    rows.append(cells)
                i += 1
            if rows:
                head = "".join(f"<th>{md_inline(c)}</th>" for c in rows[0])
                body = "".join(
                    "<tr>" + "".join(f"<td>{md_inline(c)}</td>" for c in r) + "</tr>"
                    for r in rows[1:]
                )
                out.append(f'<table class="md"><thead><tr>{head}</tr></thead>{body}</table>')
        elif re.match(r"^[-*] ", stripped):
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                s = lines[i].strip()
                if re.match(r"^[-*] ", s):
                    items.append(s[2:])
                elif items:
                    items[-1] += " " + s
                i += 1
            out.append(ul(md_inline(t) for t in items))
        else:
            para: list[str] = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not lines[i].strip().startswith(("#", "|"))
                and not re.match(r"^[-*] ", lines[i].strip())
            ):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{md_inline(' '.join(para))}</p>")
    return "\n".join(out)


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", raw: bool = True
) -> str:
    """A table; cells are HTML already when ``raw`` (escape them first otherwise). A row of one
    cell that starts with ``<th`` is a heading row spanning the table."""
    th = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for r in rows:
        if len(r) == 1 and r[0].startswith("<th"):
            body.append(f"<tr>{r[0]}</tr>")  # a heading row spanning the table
            continue
        cells = r if raw else [esc(c) for c in r]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def num(x: float, money: bool = False) -> str:
    """A number for a table: thousands separated, one decimal below 100 unless whole; money in
    £, £k, £m or £bn; – for a missing or infinite value."""
    if x is None or not np.isfinite(x):
        return "–"
    if money:
        sign = "−" if x < 0 else ""
        a = abs(x)
        if a >= 1e9:
            return f"{sign}£{a / 1e9:,.2f}bn"
        if a >= 1e6:
            return f"{sign}£{a / 1e6:,.1f}m"
        if a >= 1e3:
            return f"{sign}£{a / 1e3:,.0f}k"
        return f"{sign}£{a:,.0f}"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}".replace("-", "−")
    return f"{x:,.1f}".replace("-", "−")


def day(value: Any) -> str:
    """A date as ``YYYY-MM-DD``."""
    return str(pd.Timestamp(value).date())


def assignments(settings: Mapping[str, Any]) -> str:
    """Parameter settings as plain text: ``path = value, path = value`` (not escaped)."""
    return ", ".join(f"{k} = {v}" for k, v in settings.items())
