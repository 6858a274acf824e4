"""RADIUS's paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import STRING, WHEN_OR_NULL, object_of, ok, query
from radius.records import MAC_SPELLING

_SESSION = object_of({
    "id": {"type": "integer"}, "session_id": STRING, "nas": STRING, "identity": STRING,
    "username": STRING, "method": STRING, "mac": STRING, "ip": STRING,
    "called_station": STRING, "started_at": STRING, "updated_at": STRING,
    "stopped_at": WHEN_OR_NULL, "minutes": {"type": "integer"},
    "input_octets": {"type": "integer"}, "output_octets": {"type": "integer"},
    "state": {"enum": ["open", "stopped"]}, "terminate_cause": STRING})


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
    }
