"""The devices' paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import INT_OR_NULL, STRING, STRINGS, WHEN_OR_NULL, listing, object_of

_CHANGE = object_of({
    "id": {"type": "integer"},
    "state": {"enum": ["pending", "approved", "rejected", "used", "expired"]},
    "selectors": STRINGS, "templates": STRINGS, "reason": STRING,
    "requested_by": STRING, "requested_at": STRING, "changing": {"type": "integer"},
    "devices": {"type": "integer"}, "digest": STRING,
    "decided_by": {"type": ["string", "null"]}, "decided_at": WHEN_OR_NULL,
    "decision_note": STRING, "expires_at": WHEN_OR_NULL, "used_at": WHEN_OR_NULL,
    "used_by": {"type": ["string", "null"]}, "push_seq": INT_OR_NULL, "url": STRING})


def paths() -> dict[str, Any]:
    return {
        "/admin/devices/changes.json": listing(
            "Device change requests: pending first (devices.read)", "changes", _CHANGE),
    }
