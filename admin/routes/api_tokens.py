"""Personal tokens of the JSON API (admins only): list, create (shown once), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from admin.pages import redirect, render
from admin.security import CurrentAdmin, DbSession
from knowledge.errors import InvalidInput
from knowledge.people import advisers, api_tokens
from knowledge.text import row_number
from knowledge.timeutil import utcnow

router = APIRouter()


def _context(db: Session, **extra: Any) -> dict[str, Any]:
    users = advisers.list_users(session=db)
    now = utcnow()
    return {"tokens": api_tokens.list_tokens(session=db),
            "owners": {u.id: u for u in users},
            "accounts": [u for u in users if u.active],
            "live": lambda token: api_tokens.is_live(token, now), **extra}


@router.get("/api-tokens")
def tokens_page(request: Request, db: DbSession, admin: CurrentAdmin) -> HTMLResponse:
    """List the API tokens with a creation form."""
    return render(request, "api_tokens.html", _context(db, issued=None))


@router.post("/api-tokens")
def create_token(request: Request, db: DbSession, admin: CurrentAdmin,
                 name: Annotated[str, Form(max_length=200)],
                 user_id: Annotated[str, Form(max_length=20)],
                 scope: Annotated[str, Form(max_length=10)] = "read",
                 expires_days: Annotated[str, Form(max_length=10)] = "") -> HTMLResponse:
    """Create a token and show it, once (it is never stored nor shown again)."""
    owner = row_number(user_id)
    if owner is None:
        raise InvalidInput("Choisissez le compte au nom duquel le jeton agira.")
    days = None
    if expires_days.strip():
        days = row_number(expires_days)
        if days is None:
            raise InvalidInput("La durée de validité doit être un nombre de jours.")
    issued = api_tokens.create(session=db, name=name, user_id=owner,
                               scope=api_tokens.parse_scope(scope), expires_days=days,
                               actor=f"user:{admin.login}")
    db.flush()
    # Shown in this response only: a redirect would have to carry the secret in the URL.
    return render(request, "api_tokens.html", _context(db, issued=issued))


@router.post("/api-tokens/{token_id}/revoke")
def revoke_token(token_id: int, db: DbSession, admin: CurrentAdmin) -> Response:
    """Revoke a token at once."""
    api_tokens.revoke(session=db, token_id=token_id, actor=f"user:{admin.login}")
    return redirect("/api-tokens", "api_token_revoked")



