"""The OpenAPI document of the staff JSON API, served at ``/api/openapi.json``.

Every call takes ``Authorization: Bearer <token>`` (``citynet staff token NAME``) and has
its owner's permissions: 401 without a valid token, 403 when the role lacks the
permission. The document is checked against the app by schemathesis in the tests.
"""

from __future__ import annotations

from typing import Any

from citynet import __version__

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_ERRORS = {
    "401": {"description": "no valid staff token"},
    "403": {"description": "the token's owner lacks the permission"},
}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            **_ERRORS}


def _object(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(required or properties)}


_STREET = _object({"name": {"type": "string"}, "communities": {"type": "integer"},
                   "buildings": {"type": "integer"}, "eligible": {"type": "integer"},
                   "connected": {"type": "integer"}, "hotspots": {"type": "integer"},
                   "fiber_coverage": _NUMBER_OR_NULL})
_FORECAST = {"oneOf": [{"type": "null"}, _object({
    "value": {"type": "number"}, "low": {"type": "number"}, "high": {"type": "number"},
    "slope_per_month": {"type": "number"}})]}
_TARGET = _object({
    "id": {"type": "integer"}, "metric": {"type": "string"}, "scope": {"type": "string"},
    "target": {"type": "number"}, "deadline": {"type": "string", "format": "date"},
    "owner": {"type": "string"}, "current": _NUMBER_OR_NULL,
    "status": {"enum": ["met", "on_track", "at_risk", "missed"]},
    "shortfall": {"type": "integer"}, "shortfall_text": {"type": "string"},
    "plan": _NUMBER_OR_NULL, "forecast": _FORECAST})
_ENTRY = _object({
    "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
    "source": {"type": "string"}, "action": {"type": "string"},
    "target": {"type": "string"}, "reason": {"type": "string"},
    "result": {"type": "string"}, "detail": {"type": "object"}})


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "citynet staff API", "version": __version__,
                 "description": "Read access for automation; each call has the "
                                "permissions of the staff member owning the token."},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/admin/whoami.json": {"get": {
                "summary": "The token's owner, role and permissions",
                "responses": _ok(_object({"name": {"type": "string"},
                                          "role": {"type": "string"},
                                          "permissions": {"type": "array",
                                                          "items": {"type": "string"}}}))}},
            "/inventory/summary.json": {"get": {
                "summary": "Counts of the inventory and fiber coverage by street "
                           "(inventory.read)",
                "responses": _ok(_object({
                    "demo": {"type": ["string", "null"]},
                    "counts": {"type": "object",
                               "additionalProperties": {"type": "integer"}},
                    "streets": {"type": "array", "items": _STREET}}))}},
            "/dashboard/targets.json": {"get": {
                "summary": "Every coverage target: value, forecast, status, shortfall "
                           "(dashboard.read)",
                "responses": _ok(_object({"generated_at": {"type": "string"},
                                          "targets": {"type": "array",
                                                      "items": _TARGET}}))}},
            "/admin/audit.json": {"get": {
                "summary": "The audit log, newest first, 50 at a time (audit.read)",
                "parameters": [
                    {"name": "action", "in": "query", "required": False,
                     "schema": {"type": "string", "maxLength": 64},
                     "description": "entries whose action starts with this"},
                    {"name": "before", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1,
                                "maximum": 2**63 - 1},
                     "description": "entries older than this one (paging)"}],
                "responses": {**_ok(_object({"entries": {"type": "array",
                                                         "items": _ENTRY}})),
                              "400": {"description": "before or action out of range"}}}},
        },
    }
