"""Accounts management (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import ConfigDep, CurrentAdmin, DbSession, reauthenticate
from knowledge.errors import Conflict
from knowledge.people import advisers, second_factor
from knowledge.store.models import UserRole

router = APIRouter()


@router.get("/users")
def users_page(request: Request, db: DbSession, admin: CurrentAdmin) -> HTMLResponse:
    """List the accounts with a creation form."""
    return render(request, "users.html", {"users": advisers.list_users(session=db),
                                          "roles": list(UserRole),
                                          "second_factor_on": second_factor.is_enabled})


@router.post("/users")
def create_user(db: DbSession, admin: CurrentAdmin,
                login: Annotated[str, Form(max_length=100)],
                password: Annotated[str, Form(max_length=500)],
                role: Annotated[str, Form(max_length=16)] = UserRole.ADVISER.value,
                display_name: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Create an account."""
    advisers.create(session=db, login=login, password=password, role=advisers.parse_role(role),
                    display_name=display_name or None, actor=f"user:{admin.login}")
    return redirect("/users", "user_created")


@router.post("/users/{user_id}/disable")
def disable_user(user_id: int, db: DbSession, admin: CurrentAdmin) -> Response:
    """Disable an account and end its sessions."""
    if user_id == admin.id:
        raise Conflict("Vous ne pouvez pas désactiver votre propre compte.")
    advisers.disable(session=db, user_id=user_id, actor=f"user:{admin.login}")
    return redirect("/users", "user_disabled")


@router.post("/users/{user_id}/enable")
def enable_user(user_id: int, db: DbSession, admin: CurrentAdmin) -> Response:
    """Enable a disabled account."""
    advisers.enable(session=db, user_id=user_id, actor=f"user:{admin.login}")
    return redirect("/users", "user_enabled")


@router.post("/users/{user_id}/password")
def reset_password(request: Request, user_id: int, db: DbSession, admin: CurrentAdmin,
                   config: ConfigDep, password: Annotated[str, Form(max_length=500)],
                   admin_password: Annotated[str, Form(max_length=500)]) -> Response:
    """Set a new password for an account and end its sessions (the admin's own password first)."""
    if user_id == admin.id:
        raise Conflict("Changez votre propre mot de passe depuis « Mon compte ».")
    reauthenticate(db, request, config, admin, admin_password)
    advisers.change_password(session=db, user_id=user_id, new_password=password,
                             actor=f"user:{admin.login}")
    return redirect("/users", "user_password")


@router.post("/users/{user_id}/sessions/close")
def close_user_sessions(request: Request, user_id: int, db: DbSession, admin: CurrentAdmin,
                        config: ConfigDep,
                        admin_password: Annotated[str, Form(max_length=500)]) -> Response:
    """End every open session of an account (a lost laptop, a departure)."""
    reauthenticate(db, request, config, admin, admin_password)
    advisers.close_sessions(session=db, user_id=user_id, actor=f"user:{admin.login}")
    return redirect("/users", "user_sessions_closed")


@router.post("/users/{user_id}/second-factor/disable")
def reset_second_factor(request: Request, user_id: int, db: DbSession, admin: CurrentAdmin,
                        config: ConfigDep,
                        admin_password: Annotated[str, Form(max_length=500)]) -> Response:
    """Turn off the second factor of an account that lost it (the admin's password first)."""
    if user_id == admin.id:
        raise Conflict("Gérez votre propre double authentification depuis « Mon compte ».")
    reauthenticate(db, request, config, admin, admin_password)
    second_factor.disable(session=db, user_id=user_id, actor=f"user:{admin.login}")
    advisers.revoke_user_sessions(session=db, user_id=user_id)
    return redirect("/users", "user_second_factor_off")
