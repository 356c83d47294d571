"""Reply templates: the short pieces of answer advisers insert into their drafts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import CurrentUser, DbSession
from knowledge.desk import reply_templates

router = APIRouter()


@router.get("/templates")
def templates_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """List the reply templates with forms to edit them and add one."""
    return render(request, "templates.html",
                  {"templates": reply_templates.list_templates(session=db)})


@router.post("/templates")
def create_template(db: DbSession, user: CurrentUser,
                    title: Annotated[str, Form(max_length=1000)],
                    body: Annotated[str, Form(max_length=100_000)]) -> Response:
    """Add a reply template."""
    reply_templates.create(session=db, title=title, body=body, actor=f"user:{user.login}")
    return redirect("/templates", "template_saved")


@router.post("/templates/{template_id}")
def update_template(template_id: int, db: DbSession, user: CurrentUser,
                    title: Annotated[str, Form(max_length=1000)],
                    body: Annotated[str, Form(max_length=100_000)]) -> Response:
    """Change a reply template."""
    reply_templates.update(session=db, template_id=template_id, title=title, body=body,
                           actor=f"user:{user.login}")
    return redirect("/templates", "template_saved")


@router.post("/templates/{template_id}/delete")
def delete_template(template_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Remove a reply template."""
    reply_templates.delete(session=db, template_id=template_id, actor=f"user:{user.login}")
    return redirect("/templates", "template_deleted")
