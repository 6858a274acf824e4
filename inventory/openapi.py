"""The inventory's paths in the staff API's OpenAPI document (citynet/openapi.py)."""

from __future__ import annotations

from typing import Any

from citynet.openapi import AUTH_ERRORS, NUMBER_OR_NULL, STRING, STRINGS, object_of, ok
from inventory.kinds import KINDS

_STREET = object_of({"name": {"type": "string"}, "communities": {"type": "integer"},
                     "buildings": {"type": "integer"}, "eligible": {"type": "integer"},
                     "connected": {"type": "integer"}, "hotspots": {"type": "integer"},
                     "fiber_coverage": NUMBER_OR_NULL})
_KIND = {"name": "kind", "in": "path", "required": True, "schema": {"enum": sorted(KINDS)}}
_KEY = {"name": "key", "in": "path", "required": True,
        "description": "the record's key (a composite key's parts joined by |)",
        "schema": {"type": "string", "minLength": 1, "maxLength": 400,
                   "pattern": "^[^\u0000-\u001f\u007f]*$"}}
_RECORD = object_of({
    "kind": STRING, "key": STRING,
    "record": {"type": "object", "description": "its fields, secrets left out"},
    "secrets_set": {"type": "object", "additionalProperties": {"type": "boolean"},
                    "description": "each secret field: whether one is set"}})
_SAVED = object_of({**_RECORD["properties"], "changed": STRINGS})
_VALUE = {"anyOf": [{"type": ["string", "number", "boolean", "null"]},
                    {"type": "array", "items": {"type": ["string", "number"]}}]}
_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": _VALUE,
    "description": "field: value, as the importer's columns (GET /admin/inventory/"
                   "{kind}.json lists them); null empties a field, a list is a list "
                   "field's items; options such as allow_short_secret take true"}}}}
_ERRORS = {"content": {"application/json": {"schema": object_of({"errors": {
    "type": "object", "additionalProperties": STRING,
    "description": "field → reason; \"\" for the record as a whole"}})}}}


def _refusals(**codes: str) -> dict[str, Any]:
    return {code.lstrip("_"): {"description": text, **_ERRORS} for code, text in codes.items()}


_NOT_FOUND = {"404": {"description": "no such kind or record"}}


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
            "parameters": [_KIND],
            "responses": {**ok(object_of({
                "kind": STRING, "key": STRINGS, "columns": STRINGS,
                "records": {"type": "array", "items": {"type": "object"}}})),
                "404": {"description": "no such kind"}}},
            "post": {
                "summary": "Create a record through the importer's checks, audited "
                           "(inventory.write; nas: nas.write)",
                "parameters": [_KIND], "requestBody": _BODY,
                "responses": {**_created(), **_NOT_FOUND, **_refusals(
                    _400="not a JSON object, an unknown field or a value of the wrong "
                         "type", _409="a record with this key exists",
                    _422="the importer refuses a value")}}},
        "/admin/inventory/{kind}/{key}.json": {
            "get": {"summary": "One record, secrets left out (inventory.read)",
                    "parameters": [_KIND, _KEY],
                    "responses": {**ok(_RECORD), **_NOT_FOUND}},
            "put": {"summary": "Change the fields given (the others keep their values; "
                               "the key stays), audited (inventory.write; nas: nas.write)",
                    "parameters": [_KIND, _KEY], "requestBody": _BODY,
                    "responses": {**ok(_SAVED), **_NOT_FOUND, **_refusals(
                        _400="not a JSON object, an unknown field, a value of the wrong "
                             "type or a changed key",
                        _409="conflicts with a record saved meanwhile",
                        _422="the importer refuses a value")}},
            "delete": {"summary": "Delete a record unless others name it (the refusal "
                                  "audited too) (inventory.write; nas: nas.write)",
                       "parameters": [_KIND, _KEY],
                       "responses": {"204": {"description": "deleted"}, **_NOT_FOUND,
                                     **_refusals(_409="other records name it"),
                                     **AUTH_ERRORS}}},
    }



def _created() -> dict[str, Any]:
    answer = ok(_SAVED)
    return {"201": {**answer.pop("200"), "description": "created"}, **answer}
