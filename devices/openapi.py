"""The devices' paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import (
    AUTH_ERRORS,
    INT_OR_NULL,
    STRING,
    STRINGS,
    WHEN_OR_NULL,
    listing,
    object_of,
)
from citynet.web import MAX_ID

_CHANGE = object_of({
    "id": {"type": "integer"},
    "state": {"enum": ["pending", "approved", "rejected", "used", "expired"]},
    "selectors": STRINGS, "templates": STRINGS, "reason": STRING,
    "requested_by": STRING, "requested_at": STRING, "changing": {"type": "integer"},
    "devices": {"type": "integer"}, "digest": STRING,
    "decided_by": {"type": ["string", "null"]}, "decided_at": WHEN_OR_NULL,
    "decision_note": STRING, "expires_at": WHEN_OR_NULL, "used_at": WHEN_OR_NULL,
    "used_by": {"type": ["string", "null"]}, "push_seq": INT_OR_NULL, "url": STRING})
_PLANNED = object_of({"hostname": STRING, "site": STRING, "added": STRINGS,
                      "removed": STRINGS, "commands": STRINGS})
_DETAILED = object_of({**_CHANGE["properties"],
                       "plan": {"type": "array", "items": _PLANNED,
                                "description": "each device's redacted diff"}})
_DEVICE = object_of({"hostname": STRING, "site": STRING, "status": STRING,
                     "ok": {"type": "boolean"}, "commands": STRINGS, "error": STRING,
                     "rollback": STRING})
_DEVICES = {"type": "array", "items": _DEVICE}
_PUSHED = object_of({"change": {"type": "integer"}, "ok": {"type": "boolean"},
                     "devices": _DEVICES, "audit_seq": INT_OR_NULL,
                     "revision": {"type": ["string", "null"]}})
_ERRORS_OF = {"type": "object", "additionalProperties": STRING,
              "description": "field → reason; \"\" for the call as a whole"}
_ERRORS = {"content": {"application/json": {"schema": object_of({"errors": _ERRORS_OF})}}}
_ID = {"name": "id", "in": "path", "required": True,
       "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "example": 1}
_NAME = {"type": "string", "minLength": 1, "maxLength": 200,
         "pattern": "^[^\u0000]*[^\u0000\\s][^\u0000]*$"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ask() -> dict[str, Any]:
    return {
        "summary": "Ask for a change: plan the selected devices against the intent (each "
                   "device is read) and store the plan as a pending change request, asked "
                   "for by the token's owner, for another engineer or admin to approve on "
                   "the staff web; audited (devices.push)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "required": ["reason"],
            "properties": {
                "selectors": {"type": "array", "maxItems": 200, "items": _NAME,
                              "description": "HOSTNAME or a glob, site:NAME, role:ROLE, "
                                             "platform:NAME; none: every device"},
                "templates": {"type": "array", "maxItems": 200, "items": _NAME,
                              "description": "the intent templates; none: "
                                             "devices.templates"},
                "reason": {**_NAME, "maxLength": 512,
                           "description": "why (a ticket number, a sentence)"}}}}}},
        "responses": {
            "201": _json("stored, pending", _DETAILED),
            "400": {"description": "a field missing or of the wrong type", **_ERRORS},
            "422": _json("not stored: no device matches, a template cannot be used, a "
                         "device could not be planned, or none would change",
                         {"type": "object", "required": ["errors"], "properties": {
                             "errors": _ERRORS_OF, "devices": _DEVICES}}),
            **AUTH_ERRORS}}


def _push() -> dict[str, Any]:
    return {"post": {
        "summary": "Push an approved change request, as `citynet devices push --change ID`: "
                   "refused unless it is approved, unused and unexpired and the devices "
                   "still have the approved plan; each device's result; audited "
                   "(devices.push)",
        "parameters": [_ID],
        "responses": {
            "200": _json("pushed to every device", _PUSHED),
            "404": {"description": "no such change request"},  # or an id past the range
            "409": _json("refused: nothing was sent (refused says why)",
                         {"type": "object", "required": ["errors", "refused"],
                          "properties": {**_PUSHED["properties"], "errors": _ERRORS_OF,
                                         "refused": STRING, "reasons": STRINGS}}),
            "502": _json("pushed; some devices failed (rolled back where they could be)",
                         _PUSHED),
            **AUTH_ERRORS}}}


def paths() -> dict[str, Any]:
    listed = listing("Device change requests: pending first (devices.read)", "changes",
                     _CHANGE)
    return {
        "/admin/devices/changes.json": {**listed, "post": _ask()},
        "/admin/devices/changes/{id}.json": {"get": {
            "summary": "One change request with each device's redacted diff (devices.read)",
            "parameters": [_ID],
            "responses": {"200": _json("OK", _DETAILED),
                          "404": {"description": "no such change request"},
                          **AUTH_ERRORS}}},
        "/admin/devices/changes/{id}/push.json": _push(),
    }
