"""The page around the report's sections: the document shell, its style sheet and navigation.

Contract: :func:`page` is given the title, the subtitle (HTML) and the sections as (id,
heading, HTML content) and returns the whole document. The document is self-contained: the
style sheet is inline, there is no script, and a Content-Security-Policy forbids loading
anything but ``data:`` images. The only thing that varies between two calls with the same
arguments is the generation time in the footer (minutes, UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from corridor.report.markup import esc

__all__ = ["page"]

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:0;background:#fff}
header,main,footer{max-width:1120px;margin:0 auto;padding:0 20px}
header{border-bottom:1px solid #d0d7de;padding-bottom:8px}
h1{font-size:26px;margin:18px 0 4px}h2{font-size:21px;border-bottom:1px solid #d0d7de;
padding-bottom:4px;margin-top:36px}h3{font-size:17px;margin-top:24px}h4{font-size:15px}
nav ol{columns:3;font-size:14px;padding-left:20px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:12.5px;width:100%}
th,td{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f6f8fa}td{overflow-wrap:anywhere}
table.yearly td,table.costs td,table.paired td{text-align:right;white-space:nowrap}
table.yearly td:first-child,table.costs td:first-child,table.paired td:first-child{
text-align:left;white-space:normal}th.metric{background:#eaeef2;text-align:left}
table.assumptions td:first-child{white-space:nowrap}
.range{color:#57606a;font-size:11px}.muted{color:#57606a}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px}
.privacy{background:#ddf4ff;border:1px solid #54aeff;padding:8px 12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:0 20px}
.empty{border:1px dashed #d0d7de;padding:0 12px;margin:12px 0 22px}
figure{margin:12px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{font-size:13px;color:#57606a}code{font-size:12.5px;background:#f6f8fa;
padding:0 3px}details{margin:10px 0}summary{cursor:pointer;font-weight:600}
footer{border-top:1px solid #d0d7de;margin-top:40px;padding:10px 20px 30px;color:#57606a;
font-size:13px}
@media print{nav{display:none}h2{break-before:page}figure{break-inside:avoid}}
"""


def page(title: str, sections: Sequence[tuple[str, str, str]], subtitle: str) -> str:
    """The whole document: header with the navigation, one ``<section>`` per (id, heading,
    HTML content), and the footer with the time it was generated."""
    from corridor import __version__

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<li><a href="#{sid}">{esc(h)}</a></li>' for sid, h, _ in sections)
    body = "\n".join(
        f'<section id="{sid}"><h2>{esc(h)}</h2>\n{content}\n</section>'
        for sid, h, content in sections
    )
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="corridor {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><p>{subtitle}</p>"
        "<p class='privacy'>Aggregate outputs only (counts, rates and costs for whole "
        "populations); no personal data.</p>"
        f"<nav><ol>{nav}</ol></nav></header>\n<main>\n{body}\n</main>\n"
        f"<footer>Generated {esc(now)} by corridor {esc(__version__)}. Self-contained: "
        "figures are embedded; the same PNGs are in the folder beside this file.</footer>\n"
        "</body></html>\n"
    )
