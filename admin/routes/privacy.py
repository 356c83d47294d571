"""Personal data in the texts an adviser is about to publish: the findings shown on the pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse

from admin.security import CurrentUser
from knowledge import privacy

router = APIRouter()
_TEXT = 200_000
FIELD_LABELS = {"question": "question", "answer": "réponse"}


def findings_view(fields: dict[str, str]) -> list[dict[str, Any]]:
    """The findings of each field, with their context, as the pages and desk.js show them."""
    shown = []
    for field, text in fields.items():
        for finding in privacy.scan(text or ""):
            before, after = privacy.surroundings(text, finding)
            shown.append({"field": field, "field_label": FIELD_LABELS.get(field, field),
                          "kind": finding.kind, "label": finding.label,
                          "start": finding.start, "end": finding.end, "text": finding.text,
                          "placeholder": finding.placeholder, "before": before,
                          "after": after})
    return shown


@router.post("/privacy/scan")
def scan(user: CurrentUser, answer: Annotated[str, Form(max_length=_TEXT)] = "",
         question: Annotated[str, Form(max_length=_TEXT)] = "") -> JSONResponse:
    """Scan the question and answer being edited (the server scans again on submit)."""
    return JSONResponse({"findings": findings_view({"question": question, "answer": answer})})
