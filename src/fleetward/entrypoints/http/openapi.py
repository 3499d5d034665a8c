"""The OpenAPI document, with error answers described as they are really sent.

FastAPI documents its validation errors as {"detail": [...]}; Fleetward answers
every error as {"error": {"code", "message", "field"}} (errors.py), so the
document is corrected once, when first asked for.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, e.g. invalid"},
                "message": {"type": "string", "description": "What went wrong, for people"},
                "field": {"type": "string", "description": "The offending field, if one"},
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
COMMON_ERRORS = {
    "401": "No or invalid credentials",
    "403": "Your role may not do this",
    "404": "No such object (or another tenant's)",
}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            components["Error"] = ERROR_SCHEMA
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    _describe_errors(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = {
            "description": "Invalid input; `field` names it",
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    if operation.get("security") or operation.get("operationId", "").startswith("receive_webhook"):
        for status, description in COMMON_ERRORS.items():
            responses.setdefault(
                status,
                {
                    "description": description,
                    "content": {"application/json": {"schema": ERROR_REF}},
                },
            )
