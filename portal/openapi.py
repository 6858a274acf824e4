"""The portal's admin paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import AUTH_ERRORS, NUMBER_OR_NULL, STRING, STRINGS, listing, object_of
from citynet.web import MAX_ID

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


_TEXT = {"type": "string", "pattern": "^[^\u0000]*$"}
_DAY = {"type": "string", "format": "date"}
_OFFER = {"type": "object", "additionalProperties": False,
          "properties": {"name": {**_TEXT, "maxLength": 128},
                         "category": {**_TEXT, "maxLength": 64},
                         "offer": {**_TEXT, "maxLength": 500},
                         "communities": {"type": "array", "maxItems": 500, "items": {
                             **_TEXT, "minLength": 1, "pattern": "^[^\u0000]*\\S[^\u0000]*$"},
                             "description": "where it is shown; none: the whole district"},
                         "valid_from": _DAY, "valid_until": _DAY}}
_MERCHANT_ID = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "example": 1}
_NO_MERCHANT = {"404": {"description": "no such merchant", **_ERRORS}}
_RULES = {"422": {"description": "the merchants page's rules refuse it (an empty or "
                                 "too long text, the last day before the first, an unknown "
                                 "community, a name taken), by field", **_ERRORS}}


def _answer(code: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {code: {"description": description,
                   "content": {"application/json": {"schema": schema}}}}


def _merchants() -> dict[str, Any]:
    body = {"required": True, "content": {"application/json": {"schema": _OFFER}}}
    return {
        "/admin/merchants.json": {
            **listing("Merchants' offers with impressions and clicks (merchants.write)",
                      "merchants", _MERCHANT),
            "post": {
                "summary": "Add a merchant's offer, as the merchants page does (every field "
                           "but communities needed; the picture is uploaded on its page), "
                           "audited (merchants.write)",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {**_OFFER, "required": ["name", "category", "offer",
                                                      "valid_from", "valid_until"]}}}},
                "responses": {**_answer("201", "added", _MERCHANT),
                              "400": {"description": "not a JSON object, an unknown field "
                                                     "or a value of the wrong type",
                                      **_ERRORS}, **_RULES, **AUTH_ERRORS}}},
        "/admin/merchants/{id}.json": {
            "get": {"summary": "One merchant's offer (merchants.write)",
                    "parameters": [_MERCHANT_ID],
                    "responses": {**_answer("200", "OK", _MERCHANT), **_NO_MERCHANT,
                                  **AUTH_ERRORS}},
            "put": {"summary": "Change the fields given (the others and the picture stay), "
                               "audited (merchants.write)",
                    "parameters": [_MERCHANT_ID], "requestBody": body,
                    "responses": {**_answer("200", "changed", object_of(
                        {**_MERCHANT["properties"], "changed": STRINGS})),
                        "400": {"description": "not a JSON object, an unknown field or a "
                                               "value of the wrong type", **_ERRORS},
                        **_NO_MERCHANT, **_RULES, **AUTH_ERRORS}},
            "delete": {"summary": "Remove an offer, its counts and its picture, audited "
                                  "(merchants.write)",
                       "parameters": [_MERCHANT_ID],
                       "responses": {"204": {"description": "removed"}, **_NO_MERCHANT,
                                     **AUTH_ERRORS}}},
    }


_REVOKED = {"type": "object", "required": ["revoked", "audit_seq"], "properties": {
    "revoked": {"type": "integer"}, "audit_seq": {"type": "integer"},
    "batch": STRING, "voucher": {"type": "integer"}, "was": STRING}}


def _revoke() -> dict[str, Any]:
    reason = {**_TEXT, "minLength": 1, "maxLength": 200,
              "pattern": "^[^\u0000]*[^\u0000\\s][^\u0000]*$"}
    return {"post": {
        "summary": "Revoke one voucher code (any spelling) or a batch's unused codes, as "
                   "the vouchers page does: devices online keep their session; audited, "
                   "the voucher named by its id, never its code (vouchers.write)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [
                {"type": "object", "additionalProperties": False,
                 "required": ["code", "reason"],
                 "properties": {"code": {**_TEXT, "minLength": 1, "maxLength": 40,
                                         "pattern": "^[^\u0000]*[^\u0000\\s][^\u0000]*$"},
                                "reason": reason}},
                {"type": "object", "additionalProperties": False,
                 "required": ["batch", "reason"],
                 "properties": {"batch": {**_TEXT, "maxLength": 64,
                                          "description": "\"\": the unnamed batch"},
                                "reason": reason}}]}}}},
        "responses": {**_answer("200", "revoked (a batch: how many unused codes)", _REVOKED),
                      "400": {"description": "neither or both of code and batch, or no "
                                             "reason", **_ERRORS},
                      "404": {"description": "no such code or batch", **_ERRORS},
                      "409": {"description": "the code was revoked already", **_ERRORS},
                      **AUTH_ERRORS}}}


def paths() -> dict[str, Any]:
    return {
        "/admin/vouchers.json": {**listing(
            "Voucher batches with used / unused / expired / revoked counts "
            "(vouchers.write)", "batches", _BATCH), **_create_batch()},
        "/admin/voucher-revocations.json": _revoke(),
        **_merchants(),
    }
