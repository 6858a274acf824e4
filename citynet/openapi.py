"""The OpenAPI document of the staff JSON API, served at ``/api/openapi.json``.

Every call takes ``Authorization: Bearer <token>`` (``citynet staff token NAME``) and has
its owner's permissions: 401 without a valid token, 403 when the role lacks the
permission. The document is checked against the app by schemathesis in the tests.
"""

from __future__ import annotations

from typing import Any

from citynet import __version__
from inventory.kinds import KINDS
from radius.records import MAC_SPELLING

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
    "owner": {"type": "string"}, "owner_en": {"type": "string"},
    "current": _NUMBER_OR_NULL, "status": {"enum": ["met", "on_track", "at_risk", "missed"]},
    "shortfall": {"type": "integer"}, "shortfall_text": {"type": "string"},
    "plan": _NUMBER_OR_NULL, "deadline_shortfall": {"type": ["integer", "null"]},
    "planned_late": {"type": ["integer", "null"]}, "forecast": _FORECAST})
_ENTRY = _object({
    "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
    "source": {"type": "string"}, "action": {"type": "string"},
    "target": {"type": "string"}, "reason": {"type": "string"},
    "result": {"type": "string"}, "detail": {"type": "object"}})


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_WHEN = {"type": "string", "format": "date-time"}
_WHEN_OR_NULL = {"type": ["string", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}
_SESSION = _object({
    "id": {"type": "integer"}, "session_id": _STRING, "nas": _STRING, "identity": _STRING,
    "username": _STRING, "method": _STRING, "mac": _STRING, "ip": _STRING,
    "called_station": _STRING, "started_at": _STRING, "updated_at": _STRING,
    "stopped_at": _WHEN_OR_NULL, "minutes": {"type": "integer"},
    "input_octets": {"type": "integer"}, "output_octets": {"type": "integer"},
    "state": {"enum": ["open", "stopped"]}, "terminate_cause": _STRING})
_BATCH = _object({
    "batch": _STRING, "count": {"type": "integer"},
    "minutes": {"type": "array", "items": {"type": "integer"}},
    "devices": {"type": "array", "items": {"type": "integer"}},
    "created_at": _STRING, "valid_until": _STRING, "used": {"type": "integer"},
    "unused": {"type": "integer"}, "expired": {"type": "integer"},
    "revoked": {"type": "integer"}})
_MERCHANT = _object({
    "id": {"type": "integer"}, "name": _STRING, "category": _STRING, "offer": _STRING,
    "image": {"type": "boolean"}, "communities": _STRINGS,
    "valid_from": {"type": "string", "format": "date"},
    "valid_until": {"type": "string", "format": "date"}, "active": {"type": "boolean"},
    "impressions": {"type": "integer"}, "clicks": {"type": "integer"},
    "ctr": _NUMBER_OR_NULL})
_CHANGE = _object({
    "id": {"type": "integer"},
    "state": {"enum": ["pending", "approved", "rejected", "used", "expired"]},
    "selectors": _STRINGS, "templates": _STRINGS, "reason": _STRING,
    "requested_by": _STRING, "requested_at": _STRING, "changing": {"type": "integer"},
    "devices": {"type": "integer"}, "digest": _STRING,
    "decided_by": {"type": ["string", "null"]}, "decided_at": _WHEN_OR_NULL,
    "decision_note": _STRING, "expires_at": _WHEN_OR_NULL, "used_at": _WHEN_OR_NULL,
    "used_by": {"type": ["string", "null"]}, "push_seq": _INT_OR_NULL, "url": _STRING})


NO_NUL = "^[^\u0000]*$"  # no store takes a NUL: the API refuses one (400)


def _query(name: str, longest: int, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", "maxLength": longest, "pattern": NO_NUL}}


def _listing(summary: str, key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary,
                    "responses": _ok(_object({key: {"type": "array", "items": item}}))}}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "citynet staff API", "version": __version__,
                 "description": "Read access for automation; each call has the "
                                "permissions of the staff member owning the token. "
                                "Changes go through the staff web's forms (the same "
                                "URLs accept a bearer token instead of a CSRF field)."},
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
                     "schema": {"type": "string", "maxLength": 64, "pattern": NO_NUL},
                     "description": "entries whose action starts with this"},
                    {"name": "before", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1,
                                "maximum": 2**63 - 1},
                     "description": "entries older than this one (paging)"}],
                "responses": {**_ok(_object({"entries": {"type": "array",
                                                         "items": _ENTRY}})),
                              "400": {"description": "before or action out of range"}}}},
            "/admin/sessions.json": {"get": {
                "summary": "Public WiFi sessions, newest first, at most 200 (sessions.read)",
                "parameters": [
                    _query("who", 64, "phone number, voucher code or User-Name"),
                    {**_query("mac", 32, "the device's MAC: aa:bb:cc:dd:ee:ff, "
                              "AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or bare"),
                     "schema": {"type": "string", "pattern": f"^({MAC_SPELLING})?$"}},
                    {**_query("ip", 45, "the session's IP address"),
                     "schema": {"anyOf": [{"type": "string", "format": "ipv4"},
                                          {"type": "string", "format": "ipv6"},
                                          {"type": "string", "maxLength": 0}]}},
                    _query("nas", 64, "the NAS's name"),
                    _query("stopped", 5, "1, on, true or yes: ended sessions too")],
                "responses": {**_ok(_object({"sessions": {"type": "array",
                                                          "items": _SESSION},
                                             "truncated": {"type": "boolean"},
                                             "limit": {"type": "integer"}})),
                              "400": {"description": "a MAC or IP that is not one"}}}},
            "/admin/vouchers.json": _listing(
                "Voucher batches with used / unused / expired / revoked counts "
                "(vouchers.write)", "batches", _BATCH),
            "/admin/merchants.json": _listing(
                "Merchants' offers with impressions and clicks (merchants.write)",
                "merchants", _MERCHANT),
            "/admin/devices/changes.json": _listing(
                "Device change requests: pending first (devices.read)", "changes", _CHANGE),
            "/admin/inventory/{kind}.json": {"get": {
                "summary": "One kind of inventory record as the exporter writes it, "
                           "secrets left out (inventory.read)",
                "parameters": [{"name": "kind", "in": "path", "required": True,
                                "schema": {"enum": sorted(KINDS)}}],
                "responses": {**_ok(_object({
                    "kind": _STRING, "key": _STRINGS, "columns": _STRINGS,
                    "records": {"type": "array", "items": {"type": "object"}}})),
                    "404": {"description": "no such kind"}}}},
        },
    }
