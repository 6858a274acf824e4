"""Monitoring's paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import NUMBER_OR_NULL, object_of, ok

_FORECAST = {"oneOf": [{"type": "null"}, object_of({
    "value": {"type": "number"}, "low": {"type": "number"}, "high": {"type": "number"},
    "slope_per_month": {"type": "number"}})]}
_TARGET = object_of({
    "id": {"type": "integer"}, "metric": {"type": "string"}, "scope": {"type": "string"},
    "target": {"type": "number"}, "deadline": {"type": "string", "format": "date"},
    "owner": {"type": "string"}, "owner_en": {"type": "string"},
    "current": NUMBER_OR_NULL, "status": {"enum": ["met", "on_track", "at_risk", "missed"]},
    "shortfall": {"type": "integer"}, "shortfall_text": {"type": "string"},
    "plan": NUMBER_OR_NULL, "deadline_shortfall": {"type": ["integer", "null"]},
    "planned_late": {"type": ["integer", "null"]}, "forecast": _FORECAST})


def paths() -> dict[str, Any]:
    return {
        "/dashboard/targets.json": {"get": {
            "summary": "Every coverage target: value, forecast, status, shortfall "
                       "(dashboard.read)",
            "responses": ok(object_of({"generated_at": {"type": "string"},
                                       "targets": {"type": "array", "items": _TARGET}}))}},
    }
