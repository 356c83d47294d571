"""The web admin's FastAPI application: built by a factory, owning its Knowledge."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from admin.api.app import PREFIX as API_PREFIX
from admin.api.app import create_api
from admin.api.errors import http_error_response
from admin.config import AdminConfig
from admin.headers import SecurityHeaders
from admin.help import routes as help_routes
from admin.help.security import MemberSignInRequired
from admin.pages import STATIC_DIR, make_templates, render
from admin.routes import (
    account,
    api_tokens,
    askers,
    audit,
    auth,
    digest,
    glossary,
    health,
    kb,
    kb_manage,
    organisations,
    personal_data,
    privacy,
    queue,
    stats,
    templates,
    tickets,
    users,
)
from admin.security import CsrfRejected, LoginRequired, SecondFactorRequired
from knowledge.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from knowledge.people import retention
from knowledge.people.retention import RetentionPolicy
from knowledge.people.sealed_secrets import UnreadableSecret
from knowledge.people.throttle import TooManyAttempts
from knowledge.runtime import Knowledge
from knowledge.store.db import is_row_id

logger = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

# An unreadable TOTP secret is the server's fault (its key), not the visitor's request.
_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422, TooManyAttempts: 429,
           UnreadableSecret: 500}
_TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Action impossible",
    422: "Saisie invalide",
    429: "Trop de tentatives",
    500: "Erreur interne",
}


def create_app(*, knowledge: Knowledge, config: AdminConfig,
               extra_routes: Sequence[BaseRoute] = (),
               lifespan: Lifespan | None = None) -> FastAPI:
    """Build the web admin around a knowledge base; extra routes (the bot webhook) are added."""

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load the vector index before the first adviser waits for it.
        try:
            await asyncio.to_thread(knowledge.sync_index)
        except Exception:  # a broken index must not keep the admin down; /healthz tells
            logger.exception("index synchronisation failed at start-up")
        housekeeping = asyncio.create_task(_retention_loop(knowledge, config.retention),
                                           name="svp-retention")
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping

    app = FastAPI(title="Administration SVP", lifespan=app_lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.knowledge = knowledge
    app.state.config = config
    app.state.templates = make_templates()
    app.state.help_templates = help_routes.make_help_templates()
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """The icon browsers ask for on their own (pages link the same SVG)."""
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    # The JSON API: its own OpenAPI and JSON errors, bearer tokens (no cookie, no CSRF).
    app.mount(API_PREFIX, create_api(knowledge=knowledge, config=config))
    # kb_manage before kb: its fixed paths (/kb/due...) must win over /kb/{entry_id}.
    for module in (auth, queue, tickets, templates, kb_manage, kb, glossary, askers, organisations,
                   account, users, api_tokens, health, stats, digest, audit,
                   personal_data, privacy):
        app.include_router(module.router)
    if config.help.enabled:
        app.include_router(help_routes.router)
    app.router.routes.extend(extra_routes)
    _install_error_handlers(app)
    app.add_middleware(SecurityHeaders, hsts=config.secure_cookies)
    return app


async def _retention_loop(knowledge: Knowledge, policy: RetentionPolicy) -> None:
    """Apply the retention limits at start-up, then once a day (checked every hour)."""
    while True:
        try:
            await asyncio.to_thread(_purge_if_due, knowledge, policy)
        except Exception:  # housekeeping only: try again at the next check
            logger.exception("retention purge failed")
        await asyncio.sleep(3600)


def _purge_if_due(knowledge: Knowledge, policy: RetentionPolicy) -> None:
    with knowledge.session() as session:
        retention.purge_if_due(session=session, policy=policy, actor="web")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def on_login_required(request: Request, _error: LoginRequired) -> Response:
        if request.url.path.startswith(("/metrics", "/api/")):
            return JSONResponse({"detail": "authentification requise"}, status_code=401)
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        next_part = f"?next={quote(target, safe='')}" if request.method == "GET" else ""
        return RedirectResponse(f"/login{next_part}", status_code=303)

    @app.exception_handler(MemberSignInRequired)
    async def on_member_sign_in_required(request: Request,
                                         _error: MemberSignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        next_part = f"?next={quote(target, safe='')}" if request.method == "GET" else ""
        return RedirectResponse(f"/aide/connexion{next_part}", status_code=303)

    @app.exception_handler(SecondFactorRequired)
    async def on_second_factor_required(request: Request,
                                        _error: SecondFactorRequired) -> Response:
        return RedirectResponse("/account?info=second_factor_required#double-authentification",
                                status_code=303)

    @app.exception_handler(CsrfRejected)
    async def on_csrf(request: Request, _error: CsrfRejected) -> Response:
        logger.warning("CSRF token rejected on %s %s", request.method, request.url.path)
        return _error_page(request, 403, "Le jeton de sécurité du formulaire est absent ou "
                           "périmé. Rechargez la page puis recommencez.")

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, error: DomainError) -> Response:
        status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
        return _error_page(request, status, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.startswith(API_PREFIX):
            # An API path the mount does not take (a newline in it...): still JSON.
            return http_error_response(error)
        message = {404: "Cette page n'existe pas.",
                   405: "Cette adresse n'accepte pas cette méthode."}.get(
            error.status_code, "La requête n'a pas pu être traitée.")
        return _error_page(request, error.status_code, message)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def on_out_of_range(request: Request, error: Exception) -> Response:
        # A number no row can have (past int4/int8) or a value the column cannot hold: the
        # database refuses it; the visitor gets 404 for an id in the path, else 422.
        logger.info("value out of range on %s %s: %s", request.method, request.url.path,
                    type(error).__name__)
        if any(_names_no_row(part) for part in request.url.path.split("/")):
            return _error_page(request, 404, "Cette page n'existe pas.")
        return _error_page(request, 422, "Une valeur saisie est hors des limites admises.")

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> Response:
        # Fields and reasons only: the values typed may be names, e-mails or passwords.
        logger.info("invalid request on %s: %s", request.url.path,
                    [(".".join(map(str, item.get("loc", ()))), item.get("type"))
                     for item in error.errors()])
        return _error_page(request, 422, "Le formulaire est incomplet ou mal rempli.")


def _names_no_row(part: str) -> bool:
    """Whether a path segment is a number no row id can be (0, negative, too large)."""
    digits = part.lstrip("-")
    return digits.isascii() and digits.isdigit() and (len(digits) > 18
                                                      or not is_row_id(int(part)))


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    if request.url.path == "/aide" or request.url.path.startswith("/aide/"):
        # A member never sees the advisers' layout, even on an error.
        return help_routes.page(request, "help_error.html",
                                {"title": _TITLES.get(status, "Erreur"), "message": message,
                                 "status": status}, status_code=status)
    return render(request, "error.html",
                  {"title": _TITLES.get(status, "Erreur"), "message": message,
                   "status": status}, status_code=status)
