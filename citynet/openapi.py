"""The OpenAPI document of the staff JSON API, served at ``/api/openapi.json``.

Every call takes ``Authorization: Bearer <token>`` (``citynet staff token NAME``) and has
its owner's permissions: 401 without a valid token, 403 when the role lacks the
permission. The document is checked against the app by schemathesis in the tests. The
helpers here (``ok``, ``object_of``…) are for the domains, which describe their own paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from citynet import __version__
from citynet.domains import Domain, registered

NUMBER_OR_NULL = {"type": ["number", "null"]}
AUTH_ERRORS = {
    "401": {"description": "no valid staff token"},
    "403": {"description": "the token's owner lacks the permission"},
}


def ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            **AUTH_ERRORS}


def object_of(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(required or properties)}


ENTRY = object_of({
    "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
    "source": {"type": "string"}, "action": {"type": "string"},
    "target": {"type": "string"}, "reason": {"type": "string"},
    "result": {"type": "string"}, "detail": {"type": "object"}})


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
WHEN_OR_NULL = {"type": ["string", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}


NO_NUL = "^[^\u0000]*$"  # no store takes a NUL: the API refuses one (400)


def query(name: str, longest: int, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", "maxLength": longest, "pattern": NO_NUL}}


def listing(summary: str, key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary,
                    "responses": ok(object_of({key: {"type": "array", "items": item}}))}}


def document(domains: Sequence[Domain] | None = None) -> dict[str, Any]:
    """The document: the kernel's paths, then each domain's (its manifest's
    ``openapi_paths``)."""
    domains = registered() if domains is None else domains
    return {
        "openapi": "3.1.0",
        "info": {"title": "citynet staff API", "version": __version__,
                 "description": "Reads and writes for automation; each call has the "
                                "permissions of the staff member owning the token and "
                                "needs no CSRF field. A refused write answers "
                                "{\"errors\": {field: reason}}; every write is in the "
                                "audit log."},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/admin/whoami.json": {"get": {
                "summary": "The token's owner, role and permissions",
                "responses": ok(object_of({"name": {"type": "string"},
                                          "role": {"type": "string"},
                                          "permissions": {"type": "array",
                                                          "items": {"type": "string"}}}))}},
            "/admin/audit.json": {"get": {
                "summary": "The audit log, newest first, 50 at a time (audit.read)",
                "parameters": [
                    {"name": "action", "in": "query", "required": False,
                     "schema": {"type": "string", "maxLength": 64, "pattern": NO_NUL},
                     "description": "entries whose action starts with this"},
                    {"name": "before", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1,
                                "maximum": 2**63 - 1},
                     "description": "entries older than this one (paging)"}],
                "responses": {**ok(object_of({"entries": {"type": "array",
                                                         "items": ENTRY}})),
                              "400": {"description": "before or action out of range"}}}},
            **{path: item for domain in domains for path, item in
               domain.openapi_paths().items()},
        },
    }
