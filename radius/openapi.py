"""RADIUS's paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import AUTH_ERRORS, STRING, WHEN_OR_NULL, object_of, ok, query
from citynet.web import MAX_ID
from radius.records import MAC_SPELLING

_SESSION = object_of({
    "id": {"type": "integer"}, "session_id": STRING, "nas": STRING, "identity": STRING,
    "username": STRING, "method": STRING, "mac": STRING, "ip": STRING,
    "called_station": STRING, "started_at": STRING, "updated_at": STRING,
    "stopped_at": WHEN_OR_NULL, "minutes": {"type": "integer"},
    "input_octets": {"type": "integer"}, "output_octets": {"type": "integer"},
    "state": {"enum": ["open", "stopped"]}, "terminate_cause": STRING})


_KICKED = object_of({
    "kicked": {"type": "boolean"}, "session": {"type": "integer"}, "session_id": STRING,
    "nas": STRING, "answer": STRING, "error_cause": STRING, "attempts": {"type": "integer"},
    "audit_seq": {"type": "integer"}})
_REFUSED = {"content": {"application/json": {"schema": object_of({
    "errors": {"type": "object", "additionalProperties": STRING,
               "description": "field → reason; \"\" for the kick as a whole"},
    "error": STRING})}}}
REASON_MAX = 200  # radius.admin.REASON_MAX (a test holds them equal)
KBPS = {"type": "integer", "minimum": 1, "maximum": 10_000_000}  # radius.bandwidth.MAX_KBPS
_REASON = {"type": "string", "minLength": 1, "maxLength": REASON_MAX,
           "pattern": "^[^\u0000]*[^\u0000\\s][^\u0000]*$",
           "description": "why, for the audit log"}
_CHANGED = object_of({
    "changed": {"type": "boolean"}, "session": {"type": "integer"}, "session_id": STRING,
    "nas": STRING, "who": STRING, "mac": STRING, "up_kbps": {"type": "integer"},
    "down_kbps": {"type": "integer"}, "answer": STRING, "error_cause": STRING,
    "attempts": {"type": "integer"}, "audit_seq": {"type": "integer"}})
_ERRORS = {"content": {"application/json": {"schema": object_of({
    "errors": {"type": "object", "additionalProperties": STRING,
               "description": "field → reason; \"\" for the call as a whole"}})}}}


def _bandwidth() -> dict[str, Any]:
    return {"post": {
        "summary": "Change one open session's upload and download limits: a CoA-Request "
                   "(RFC 5176) to its NAS with WISPr-Bandwidth-Max-Up/-Down (and the "
                   "session's other limits as they stand, for a NAS that re-authorises on "
                   "every CoA), waiting for its answer; audited (sessions.kick)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "required": ["session", "up_kbps", "down_kbps", "reason"],
            "properties": {
                "session": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                            "description": "the session's id in /admin/sessions.json"},
                "up_kbps": KBPS, "down_kbps": KBPS, "reason": _REASON}}}}},
        "responses": {
            "200": {"description": "the NAS acknowledged: the limits apply",
                    "content": {"application/json": {"schema": _CHANGED}}},
            "400": {"description": "a field missing or out of range, by field", **_ERRORS},
            "404": {"description": "no such session", **_ERRORS},
            "409": {"description": "the session has ended, or its NAS cannot be reached by "
                                   "CoA", **_ERRORS},
            "502": {"description": "the NAS refused or did not answer (audited as failed)",
                    "content": {"application/json": {"schema": _CHANGED}}},
            **AUTH_ERRORS}}}


def paths() -> dict[str, Any]:
    return {
        "/admin/sessions.json": {"get": {
            "summary": "Public WiFi sessions, newest first, at most 200 (sessions.read)",
            "parameters": [
                query("who", 64, "phone number, voucher code or User-Name"),
                {**query("mac", 32, "the device's MAC: aa:bb:cc:dd:ee:ff, "
                         "AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or bare"),
                 "schema": {"type": "string", "pattern": f"^({MAC_SPELLING})?$"}},
                {**query("ip", 45, "the session's IP address"),
                 "schema": {"anyOf": [{"type": "string", "format": "ipv4"},
                                      {"type": "string", "format": "ipv6"},
                                      {"type": "string", "maxLength": 0}]}},
                query("nas", 64, "the NAS's name"),
                query("stopped", 5, "1, on, true or yes: ended sessions too")],
            "responses": {**ok(object_of({"sessions": {"type": "array", "items": _SESSION},
                                          "truncated": {"type": "boolean"},
                                          "limit": {"type": "integer"}})),
                          "400": {"description": "a MAC or IP that is not one"}}}},
        "/admin/sessions/kick": {"post": {
            "summary": "Disconnect one open session: a Disconnect-Request (RFC 5176) to its "
                       "NAS, waiting for its answer; audited (sessions.kick)",
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": object_of({
                    "session": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                                "description": "the session's id in /admin/sessions.json"},
                    "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX,
                               "pattern": "^[^\u0000]*[^\u0000\\s][^\u0000]*$",
                               "description": "why, for the audit log"}})}}},
            "responses": {
                "200": {"description": "the NAS acknowledged: disconnected",
                        "content": {"application/json": {"schema": _KICKED}}},
                "400": {"description": "no session id, or no reason", **_REFUSED},
                "404": {"description": "no such session", **_REFUSED},
                "409": {"description": "the session has ended, or its NAS cannot be "
                                       "reached by CoA", **_REFUSED},
                "502": {"description": "the NAS refused or did not answer (audited as "
                                       "failed)",
                        "content": {"application/json": {"schema": _KICKED}}},
                **AUTH_ERRORS}}},
        "/admin/sessions/bandwidth.json": _bandwidth(),
    }
