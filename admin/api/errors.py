"""Errors of the JSON API: one stable shape, French messages, never HTML nor a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from knowledge import privacy
from knowledge.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from knowledge.people.api_tokens import TokenRejected
from knowledge.runtime import SearchHit

logger = logging.getLogger(__name__)

# Checked in order, by class hierarchy: a subclass (say, a Conflict raised by a check added
# later) takes its parent's status without being listed.
_DOMAIN_STATUS: tuple[tuple[type[DomainError], int, str], ...] = (
    (TokenRejected, 401, "unauthorized"),
    (NotFound, 404, "not_found"),
    (Forbidden, 403, "forbidden"),
    (Conflict, 409, "conflict"),
    (InvalidInput, 422, "invalid_input"),
)
_HTTP_CODES = {
    400: ("bad_request", "La requête est mal formée (corps JSON illisible ou pas en UTF-8)."),
    401: ("unauthorized", "Authentification requise : envoyez « Authorization: Bearer "
          "<jeton> »."),
    403: ("forbidden", "Accès refusé."),
    404: ("not_found", "Cette adresse n'existe pas dans l'API."),
    405: ("method_not_allowed", "Cette adresse n'accepte pas cette méthode."),
    413: ("payload_too_large", "Le corps de la requête est trop volumineux."),
    414: ("uri_too_long", "L'adresse ou ses paramètres sont trop longs."),
    415: ("unsupported_media_type", "Le corps de la requête doit être du JSON "
          "(Content-Type: application/json)."),
    429: ("rate_limited", "Trop de requêtes : attendez avant de recommencer."),
}

_VALIDATION_FR = {
    "missing": "champ obligatoire absent",
    "extra_forbidden": "champ inconnu",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "bool_parsing": "booléen attendu (true ou false)",
    "bool_type": "booléen attendu (true ou false)",
    "string_type": "texte attendu",
    "list_type": "liste attendue",
    "dict_type": "objet JSON attendu",
    "model_attributes_type": "objet JSON attendu",
    "json_invalid": "JSON invalide",
    "json_type": "JSON attendu",
    "datetime_parsing": "date et heure ISO 8601 attendues (AAAA-MM-JJTHH:MM:SS)",
    "datetime_from_date_parsing": "date et heure ISO 8601 attendues (AAAA-MM-JJTHH:MM:SS)",
    "datetime_type": "date et heure ISO 8601 attendues",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "enum": "valeur non admise",
    "literal_error": "valeur non admise",
    "value_error": "valeur invalide",
    "string_pattern_mismatch": "format non admis",
}


class ErrorDetail(BaseModel):
    """What went wrong: a stable code for programs, a French message for people."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["Fiche introuvable : 42"])
    fields: list[dict[str, str]] | None = Field(
        default=None, description="Champs refusés (erreurs de validation).")
    candidates: list[dict[str, Any]] | None = Field(
        default=None, description="Fiches proches (doublon possible, code duplicate).")
    findings: list[dict[str, Any]] | None = Field(
        default=None, description="Constats qui demandent une confirmation (code conflict), "
        "par exemple les données personnelles repérées : type (`kind`, `label`), passage "
        "(`text`) et terme neutre proposé (`placeholder`).")


class ErrorBody(BaseModel):
    """Every error of the API has this shape."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str, *,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A JSON error in the API's shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({key: value for key, value in extra.items() if value is not None})
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def duplicate_response(candidates: Sequence[SearchHit]) -> JSONResponse:
    """The 409 of a publication too close to existing entries, with those entries."""
    return error_response(
        409, "duplicate", "Des fiches très proches existent déjà : mettez l'une d'elles à "
        "jour ou confirmez avec « confirm_duplicate ».",
        candidates=[asdict(hit) for hit in candidates])


def domain_status(error: DomainError) -> tuple[int, str]:
    """The HTTP status and code of a domain error, by its class hierarchy."""
    return next(((status, code) for kind, status, code in _DOMAIN_STATUS
                 if isinstance(error, kind)), (400, "bad_request"))


def _findings(error: DomainError) -> list[dict[str, Any]] | None:
    # A check that needs a confirmation (personal data found...) carries its findings.
    found = getattr(error, "findings", None)
    if not found or isinstance(found, str | bytes) or not isinstance(found, Sequence):
        return None
    return [{"kind": item.kind, "label": item.label, "text": item.text,
             "placeholder": item.placeholder} if isinstance(item, privacy.Finding)
            else {"text": str(item)} for item in found]


def _location(loc: Sequence[object]) -> str:
    parts = [str(part) for part in loc if part not in {"body", "query", "path", "header"}]
    return ".".join(parts) or "corps"


def french_fields(errors: Sequence[Any]) -> list[dict[str, str]]:
    """The refused fields of a validation error, with French reasons."""
    fields = []
    for item in errors[:20]:
        kind = str(item.get("type", ""))
        reason = _VALIDATION_FR.get(kind)
        context = item.get("ctx") or {}
        if kind in {"string_too_long", "too_long"}:
            reason = f"trop long (au plus {context.get('max_length', '?')})"
        elif kind in {"string_too_short", "too_short"}:
            reason = f"trop court (au moins {context.get('min_length', '?')})"
        elif kind in {"greater_than_equal", "greater_than"}:
            reason = f"trop petit (minimum {context.get('ge', context.get('gt', '?'))})"
        elif kind in {"less_than_equal", "less_than"}:
            reason = f"trop grand (maximum {context.get('le', context.get('lt', '?'))})"
        elif kind in {"enum", "literal_error"} and context.get("expected"):
            reason = f"valeur non admise (attendu : {context['expected']})"
        fields.append({"field": _location(item.get("loc", ())),
                       "message": reason or "valeur invalide"})
    return fields


def http_error_response(error: StarletteHTTPException) -> JSONResponse:
    """A protocol error (404, 405...) in the API's shape."""
    code, message = _HTTP_CODES.get(error.status_code,
                                    ("http_error", "La requête n'a pas pu être traitée."))
    return error_response(error.status_code, code, message, headers=dict(error.headers or {}))


def install(app: FastAPI) -> None:
    """Turn every error of the API into a JSON error of the stable shape."""

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, error: DomainError) -> Response:
        status, code = domain_status(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, code, str(error), headers=headers,
                              findings=_findings(error))

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> Response:
        fields = french_fields(error.errors())
        logger.info("invalid API request on %s: %s", request.url.path, fields)
        summary = "; ".join(f"{f['field']} : {f['message']}" for f in fields[:3])
        return error_response(422, "invalid_input", f"Requête invalide ({summary}).",
                              fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> Response:
        return http_error_response(error)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def on_out_of_range(request: Request, error: Exception) -> Response:
        logger.info("value out of range on %s %s: %s", request.method, request.url.path,
                    type(error).__name__)
        return error_response(422, "invalid_input",
                              "Une valeur est hors des limites admises.")

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> Response:
        logger.exception("unexpected API error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error",
                              "Erreur interne : l'incident est consigné dans le journal du "
                              "serveur.")

