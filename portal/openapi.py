"""The portal's admin paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import NUMBER_OR_NULL, STRING, STRINGS, listing, object_of

_BATCH = object_of({
    "batch": STRING, "count": {"type": "integer"},
    "minutes": {"type": "array", "items": {"type": "integer"}},
    "devices": {"type": "array", "items": {"type": "integer"}},
    "created_at": STRING, "valid_until": STRING, "used": {"type": "integer"},
    "unused": {"type": "integer"}, "expired": {"type": "integer"},
    "revoked": {"type": "integer"}})
_MERCHANT = object_of({
    "id": {"type": "integer"}, "name": STRING, "category": STRING, "offer": STRING,
    "image": {"type": "boolean"}, "communities": STRINGS,
    "valid_from": {"type": "string", "format": "date"},
    "valid_until": {"type": "string", "format": "date"}, "active": {"type": "boolean"},
    "impressions": {"type": "integer"}, "clicks": {"type": "integer"},
    "ctr": NUMBER_OR_NULL})


def paths() -> dict[str, Any]:
    return {
        "/admin/vouchers.json": listing(
            "Voucher batches with used / unused / expired / revoked counts "
            "(vouchers.write)", "batches", _BATCH),
        "/admin/merchants.json": listing(
            "Merchants' offers with impressions and clicks (merchants.write)",
            "merchants", _MERCHANT),
    }
