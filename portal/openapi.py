"""The portal's admin paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import AUTH_ERRORS, NUMBER_OR_NULL, STRING, STRINGS, listing, object_of

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


_WHOLE = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string",
                                                        "pattern": "^[0-9]+$"}]}
_NEW_BATCH = {"type": "object", "required": ["batch"], "additionalProperties": False,
              "properties": {"batch": {"type": "string", "minLength": 1, "maxLength": 80,
                                       "pattern": "^[^\u0000]*$",
                                       "description": "letters, digits, dots and dashes"},
                             "count": _WHOLE, "minutes": _WHOLE, "devices": _WHOLE,
                             "valid_days": _WHOLE}}
_ERRORS = {"content": {"application/json": {"schema": object_of({"errors": {
    "type": "object", "additionalProperties": STRING}})}}}


def _create_batch() -> dict[str, Any]:
    return {"post": {
        "summary": "Create a voucher batch as the vouchers page does (count 50, minutes "
                   "120, devices 1, valid_days 90 unless given), audited (vouchers.write); "
                   "its codes are on its page (url), not in the answer",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": _NEW_BATCH}}},
        "responses": {
            "201": {"description": "created", "content": {"application/json": {
                "schema": object_of({**_BATCH["properties"], "url": STRING})}}},
            "400": {"description": "a field out of range, by field", **_ERRORS},
            "409": {"description": "a batch of that name exists", **_ERRORS},
            **AUTH_ERRORS}}}


def paths() -> dict[str, Any]:
    return {
        "/admin/vouchers.json": {**listing(
            "Voucher batches with used / unused / expired / revoked counts "
            "(vouchers.write)", "batches", _BATCH), **_create_batch()},
        "/admin/merchants.json": listing(
            "Merchants' offers with impressions and clicks (merchants.write)",
            "merchants", _MERCHANT),
    }
