"""Section "Model card and data": what Corridor is and is not for, its validation and limits.

Contract: reads ``docs/model-card.md`` (:mod:`corridor.report.project_docs`) and keeps its
sections "What Corridor is for", "What it is not for", "Validation" and "Known limits"; without
the file (an installation without ``docs/``) a fixed paragraph says the same in short. Always
opens with the statement that every output is aggregate and holds no personal data.
"""

from __future__ import annotations

from corridor.report.markup import esc, md_block
from corridor.report.project_docs import doc_sections, docs_dir

__all__ = ["model_card_section"]


def model_card_section() -> str:
    parts = [
        "<p class='privacy'><strong>All outputs in this report are aggregate</strong>: counts, "
        "rates and costs for whole populations. Corridor's agents are synthetic statistical "
        "units drawn from published aggregate figures; the report contains no personal data "
        "and must not be used to predict or target individuals.</p>"
    ]
    docs = docs_dir()
    card = docs / "model-card.md" if docs is not None else None
    if card is not None and card.is_file():
        _head, sections = doc_sections(card.read_text("utf-8"))
        keep = ("What Corridor is for", "What it is not for", "Validation", "Known limits")
        for title, body in sections:
            if title in keep:
                parts.append(f"<h3>{esc(title)}</h3>{md_block(body, level=4)}")
        parts.append(
            "<p>The full model card is <code>docs/model-card.md</code> in the Corridor source; "
            "every assumption with its confidence is in "
            "<code>docs/assumptions-asylum.md</code>.</p>"
        )
    else:
        parts.append(
            "<p>Corridor compares policies for whole populations (return hubs, caseworkers, "
            "deterrence assumptions) with uncertainty; it is not a forecast of what any "
            "government will do, nor a legal analysis. See docs/model-card.md in the Corridor "
            "source.</p>"
        )
    return "\n".join(parts)
