"""The JSON API v1 application, mounted by the web admin at /api/v1 (its own OpenAPI, errors)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from admin.api import entries, errors, reading, tickets
from admin.api.auth import CallAudit, RateLimited, rate_limit_headers
from admin.api.errors import ErrorBody, error_response
from admin.api.limits import RateLimiter, SizeLimits
from admin.config import AdminConfig
from knowledge.runtime import Knowledge

PREFIX = "/api/v1"

DESCRIPTION = """\
API JSON de l'assistant SVP : lecture de la base de connaissances, recherche, file des
questions et, avec un jeton en écriture, réponses, notes et fiches.

Chaque appel porte `Authorization: Bearer <jeton>` ; les jetons sont créés par un
administrateur (page « Jetons d'API » ou `svp api token create`). Les erreurs ont toujours la
forme `{"error": {"code": "...", "message": "..."}}`, messages en français.
"""

# Errors every operation may answer (documented so clients and schema checks expect them).
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Requête mal formée (corps illisible)."),
        (401, "Jeton absent, inconnu, révoqué ou expiré."),
        (403, "Jeton en lecture seule pour une écriture, ou action refusée à ce compte."),
        (404, "Objet introuvable."),
        (409, "Action impossible dans l'état actuel (doublon, statut, confirmation requise)."),
        (413, "Corps de requête trop volumineux."),
        (414, "Paramètres trop longs."),
        (422, "Requête invalide (champ manquant, inconnu ou hors limites)."),
        (429, "Trop de requêtes pour ce jeton : voir Retry-After."),
    )
}


def create_api(*, knowledge: Knowledge, config: AdminConfig) -> FastAPI:
    """Build the API application around the admin's knowledge base and configuration."""
    api = FastAPI(title="API SVP", version="1", description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  responses=_COMMON_ERRORS,
                  servers=[{"url": PREFIX}])
    api.state.knowledge = knowledge
    api.state.config = config
    api.state.rate_limiter = RateLimiter(knowledge, config.api_rate_per_minute)
    for module in (entries, tickets, reading):
        api.include_router(module.router)
    errors.install(api)

    @api.exception_handler(RateLimited)
    async def on_rate_limited(request: Request, error: RateLimited) -> Response:
        return error_response(429, "rate_limited", "Trop de requêtes pour ce jeton : "
                              "attendez avant de recommencer.",
                              headers=rate_limit_headers(error))

    api.add_middleware(CallAudit, knowledge=knowledge)
    api.add_middleware(SizeLimits)
    return api
