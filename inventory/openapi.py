"""The inventory's paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import NUMBER_OR_NULL, STRING, STRINGS, object_of, ok
from inventory.kinds import KINDS

_STREET = object_of({"name": {"type": "string"}, "communities": {"type": "integer"},
                     "buildings": {"type": "integer"}, "eligible": {"type": "integer"},
                     "connected": {"type": "integer"}, "hotspots": {"type": "integer"},
                     "fiber_coverage": NUMBER_OR_NULL})


def paths() -> dict[str, Any]:
    return {
        "/inventory/summary.json": {"get": {
            "summary": "Counts of the inventory and fiber coverage by street "
                       "(inventory.read)",
            "responses": ok(object_of({
                "demo": {"type": ["string", "null"]},
                "counts": {"type": "object",
                           "additionalProperties": {"type": "integer"}},
                "streets": {"type": "array", "items": _STREET}}))}},
        "/admin/inventory/{kind}.json": {"get": {
            "summary": "One kind of inventory record as the exporter writes it, "
                       "secrets left out (inventory.read)",
            "parameters": [{"name": "kind", "in": "path", "required": True,
                            "schema": {"enum": sorted(KINDS)}}],
            "responses": {**ok(object_of({
                "kind": STRING, "key": STRINGS, "columns": STRINGS,
                "records": {"type": "array", "items": {"type": "object"}}})),
                "404": {"description": "no such kind"}}}},
    }
