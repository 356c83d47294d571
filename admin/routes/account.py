"""The adviser's own account: password and the code that links their Telegram."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import ConfigDep, CurrentUser, DbSession, clear_session_cookie
from knowledge.people import adviser_links, advisers

router = APIRouter()


@router.get("/account")
def account_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Show the account page."""
    return render(request, "account.html", {"link_code": None})


@router.post("/account/telegram-code")
def telegram_code(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """Issue a one-time code to send to the bot as `/conseiller <code>` (shown once)."""
    code = adviser_links.issue_code(session=db, user_id=user.id)
    return render(request, "account.html", {"link_code": code})


@router.post("/account/password")
def change_password(db: DbSession, user: CurrentUser, config: ConfigDep,
                    current_password: Annotated[str, Form(max_length=500)],
                    new_password: Annotated[str, Form(max_length=500)],
                    new_password_again: Annotated[str, Form(max_length=500)]) -> Response:
    """Change one's password; every session of the account ends, this one included."""
    if new_password != new_password_again:
        from knowledge.errors import InvalidInput

        raise InvalidInput("Les deux nouveaux mots de passe ne sont pas identiques.")
    advisers.change_password(session=db, user_id=user.id, new_password=new_password,
                             current_password=current_password, actor=f"user:{user.login}")
    response = redirect("/login", "password_changed")
    clear_session_cookie(response, config)
    return response
