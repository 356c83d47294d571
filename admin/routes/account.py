"""The adviser's own account: password, second factor, open sessions, Telegram link code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.config import AdminConfig
from admin.pages import redirect, render
from admin.security import (
    ConfigDep,
    CurrentUser,
    CurrentVisitor,
    DbSession,
    clear_session_cookie,
    reauthenticate,
)
from knowledge.desk import adviser_alerts
from knowledge.errors import Conflict, InvalidInput
from knowledge.people import adviser_links, advisers, second_factor

router = APIRouter()

Secret = Annotated[str, Form(max_length=500)]


def _account_page(request: Request, db: DbSession, visitor: CurrentVisitor,
                  config: AdminConfig, **extra: Any) -> HTMLResponse:
    user = visitor.user
    context: dict[str, Any] = {
        "link_code": None,
        "sessions": advisers.list_sessions(session=db, user_id=user.id),
        "this_session": visitor.web_session.id,
        "second_factor_on": second_factor.is_enabled(user),
        "recovery_left": second_factor.remaining_recovery_codes(session=db, user_id=user.id),
        "second_factor_required": config.second_factor_mandatory(user.role),
        "alert_labels": [(alert.value, label)
                         for alert, label in adviser_alerts.ALERT_LABELS.items()],
        **extra,
    }
    return render(request, "account.html", context)


@router.get("/account")
def account_page(request: Request, db: DbSession, visitor: CurrentVisitor,
                 config: ConfigDep) -> HTMLResponse:
    """Show the account page."""
    return _account_page(request, db, visitor, config,
                         email_saved=request.query_params.get("alertes") == "1")


@router.post("/account/telegram-code")
def telegram_code(request: Request, db: DbSession, visitor: CurrentVisitor,
                  config: ConfigDep) -> HTMLResponse:
    """Issue a one-time code to send to the bot as `/conseiller <code>` (shown once)."""
    code = adviser_links.issue_code(session=db, user_id=visitor.user.id)
    return _account_page(request, db, visitor, config, link_code=code)


@router.post("/account/email-alerts")
def email_alerts(request: Request, db: DbSession, visitor: CurrentVisitor, config: ConfigDep,
                 email: Annotated[str, Form(max_length=300)] = "",
                 alerts: Annotated[list[str] | None, Form(max_length=20)] = None
                 ) -> Response:
    """Record the adviser's address and the alerts they want there."""
    try:
        adviser_alerts.set_preferences(session=db, user_id=visitor.user.id, email=email,
                                       alerts=list(alerts or [])[:10])
    except InvalidInput as error:
        db.rollback()
        page = _account_page(request, db, visitor, config, email_error=str(error))
        page.status_code = 422
        return page
    return redirect("/account?alertes=1#alertes-courriel")


@router.post("/account/password")
def change_password(request: Request, db: DbSession, user: CurrentUser, config: ConfigDep,
                    current_password: Secret, new_password: Secret,
                    new_password_again: Secret) -> Response:
    """Change one's password; every session of the account ends, this one included."""
    if new_password != new_password_again:
        raise InvalidInput("Les deux nouveaux mots de passe ne sont pas identiques.")
    reauthenticate(db, request, config, user, current_password)
    advisers.change_password(session=db, user_id=user.id, new_password=new_password,
                             actor=f"user:{user.login}")
    response = redirect("/login", "password_changed")
    clear_session_cookie(response, config)
    return response


@router.post("/account/sessions/{session_id}/close")
def close_session(request: Request, session_id: str, db: DbSession, user: CurrentUser,
                  config: ConfigDep, password: Secret) -> Response:
    """End one of one's open sessions (another browser, a forgotten computer)."""
    reauthenticate(db, request, config, user, password)
    advisers.close_session(session=db, user_id=user.id, session_id=session_id)
    return redirect("/account", "session_closed")


def _end_other_sessions(db: DbSession, visitor: CurrentVisitor) -> None:
    """After a change of authentication factor, only this browser stays logged in."""
    advisers.revoke_user_sessions(session=db, user_id=visitor.user.id,
                                  keep=visitor.web_session.id)


@router.post("/account/second-factor/start")
def second_factor_start(request: Request, db: DbSession, user: CurrentUser,
                        config: ConfigDep) -> HTMLResponse:
    """Draw a TOTP secret and show its QR code with the confirmation form."""
    secret = second_factor.start_enrolment(session=db, user_id=user.id, sealer=config.sealer())
    uri = second_factor.provisioning_uri(login=user.login, secret=secret)
    return render(request, "second_factor_enrol.html",
                  {"qr_svg": second_factor.qr_svg(uri), "secret": secret})


@router.post("/account/second-factor/confirm")
def second_factor_confirm(request: Request, db: DbSession, visitor: CurrentVisitor,
                          config: ConfigDep, password: Secret,
                          code: Annotated[str, Form(max_length=40)]) -> HTMLResponse:
    """Enable the second factor with a first code; show the recovery codes once."""
    user = visitor.user
    reauthenticate(db, request, config, user, password)
    codes = second_factor.confirm_enrolment(session=db, user_id=user.id, code=code,
                                            actor=f"user:{user.login}", sealer=config.sealer())
    _end_other_sessions(db, visitor)
    return render(request, "recovery_codes.html", {"codes": codes})


@router.post("/account/second-factor/recovery-codes")
def second_factor_new_codes(request: Request, db: DbSession, user: CurrentUser,
                            config: ConfigDep, password: Secret) -> HTMLResponse:
    """Replace the recovery codes (the old ones stop working); show the new ones once."""
    reauthenticate(db, request, config, user, password)
    codes = second_factor.regenerate_recovery_codes(session=db, user_id=user.id,
                                                    actor=f"user:{user.login}")
    return render(request, "recovery_codes.html", {"codes": codes})


@router.post("/account/second-factor/disable")
def second_factor_disable(request: Request, db: DbSession, visitor: CurrentVisitor,
                          config: ConfigDep, password: Secret) -> Response:
    """Turn one's second factor off (refused when it is mandatory for the account)."""
    user = visitor.user
    if config.second_factor_mandatory(user.role):
        raise Conflict("La double authentification est obligatoire pour votre compte.")
    reauthenticate(db, request, config, user, password)
    second_factor.disable(session=db, user_id=user.id, actor=f"user:{user.login}")
    _end_other_sessions(db, visitor)
    return redirect("/account", "second_factor_off")
