"""The staff API's inventory writes (/admin/inventory/{kind}[/{key}].json): a NAS client
and a street through their whole life with a token, field-keyed refusals, secrets never
coming back out, every change audited like the editor's, and who gets 401/403."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from citynet.access import PERMISSIONS
from citynet.app import create_app
from citynet.audit import AuditEntry
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from inventory.models import NasClient
from tests.conftest import make_config
from tests.support import api_tokens

BASE = "/admin/inventory"
NAS_SECRET = "nas-shared-SECRET-4711-api"


@dataclass
class Api:
    app: Flask
    store: Store
    tokens: dict[Role, str]

    def call(self, method: str, path: str, role: Role | None = Role.ADMIN,
             body: Any = None) -> tuple[int, Any]:
        headers = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        answer = self.app.test_client().open(BASE + path, method=method, headers=headers,
                                             json=body)
        text = answer.get_data(as_text=True)
        return answer.status_code, (json.loads(text) if answer.is_json and text else text)

    def audit(self) -> list[AuditEntry]:
        with self.store.session() as db:
            entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
            db.expunge_all()
            return entries


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    tokens = api_tokens(store)
    try:
        yield Api(create_app(store, config, box=box, test_config={"TESTING": True}), store,
                  tokens)
    finally:
        store.close()


def test_a_nas_client_through_its_life(api: Api) -> None:
    status, made = api.call("POST", "/nas.json", body={
        "name": "gw-api", "address": "10.99.0.1", "secret": NAS_SECRET, "vendor": "huawei"})
    assert status == 201, made
    assert made["key"] == "gw-api" and made["record"]["address"] == "10.99.0.1"
    assert made["secrets_set"] == {"secret": True, "uam_secret": False,
                                   "portal_secret": False}
    assert "secret" not in made["record"] and NAS_SECRET not in json.dumps(made)
    status, shown = api.call("GET", "/nas/gw-api.json", role=Role.AUDITOR)
    assert status == 200 and shown["record"]["vendor"] == "huawei"
    status, changed = api.call("PUT", "/nas/gw-api.json", body={"policy": "library",
                                                                "hotspots": []})
    assert status == 200 and changed["changed"] == ["policy"]
    assert changed["record"]["address"] == "10.99.0.1"  # not given: kept
    with api.store.session() as db:  # the secret is kept sealed, and opens
        client = db.scalar(select(NasClient).where(NasClient.name == "gw-api"))
        assert client is not None and client.policy == "library"
    assert api.call("POST", "/nas.json", body={
        "name": "gw-api", "address": "10.99.0.9", "secret": NAS_SECRET})[0] == 409
    assert api.call("DELETE", "/nas/gw-api.json")[0] == 204
    assert api.call("GET", "/nas/gw-api.json")[0] == 404
    assert api.call("DELETE", "/nas/gw-api.json")[0] == 404
    trail = [(e.action, e.target, e.actor) for e in api.audit()
             if e.action.startswith("inventory.")]
    assert trail == [("inventory.create", "nas:gw-api", "api-admin"),
                     ("inventory.edit", "nas:gw-api", "api-admin"),
                     ("inventory.delete", "nas:gw-api", "api-admin")]
    assert all(NAS_SECRET not in json.dumps(e.detail) for e in api.audit())


def test_refusals_are_keyed_by_field(api: Api) -> None:
    status, answer = api.call("POST", "/nas.json", body={
        "name": "gw-bad", "address": "not an address", "secret": NAS_SECRET})
    assert status == 422 and set(answer["errors"]) == {"address"}, answer
    status, answer = api.call("POST", "/nas.json", body={
        "name": "gw-short", "address": "10.99.0.3", "secret": "short"})
    assert status == 422 and set(answer["errors"]) == {"secret"}, answer
    assert api.call("POST", "/nas.json", body={
        "name": "gw-short", "address": "10.99.0.3", "secret": "short",
        "allow_short_secret": True})[0] == 201
    status, answer = api.call("POST", "/nas.json", body={
        "name": "gw-x", "address": "10.99.0.2", "secret": NAS_SECRET, "colour": "red",
        "policy": {"nested": 1}, "allow_short_secret": "yes"})
    assert status == 400 and set(answer["errors"]) == {"colour", "policy",
                                                       "allow_short_secret"}
    assert api.call("POST", "/nas.json", body=["not", "an", "object"])[1] == {
        "errors": {"": "the body is a JSON object of field: value"}}
    assert api.call("POST", "/streets.json", body={"name": "a\x00b"})[0] == 400
    assert api.call("POST", "/no-such-kind.json", body={})[0] == 404
    assert api.call("POST", "/streets.json", body={"name": "东门街道"})[0] == 201
    status, answer = api.call("PUT", "/streets/东门街道.json", body={"name": "西门"})
    assert status == 400 and "name" in answer["errors"]
    assert api.call("PUT", "/streets/东门街道.json", body={"name_en": "Dongmen"})[0] == 200
    with api.store.session() as db:  # nothing half-stored
        assert db.scalars(select(NasClient.name)).all() == ["gw-short"]


def test_a_delete_of_a_record_still_named_is_refused_and_audited(api: Api) -> None:
    assert api.call("POST", "/streets.json", body={"name": "东门街道"})[0] == 201
    assert api.call("POST", "/communities.json", body={
        "name": "东门社区", "street": "东门街道"})[0] == 201
    status, answer = api.call("DELETE", "/streets/东门街道.json")
    assert status == 409 and "communities:东门社区" in answer["errors"][""]
    assert api.audit()[-1].result == "refused"
    assert api.call("GET", "/streets/东门街道.json")[0] == 200


WRITES = [("nas", "nas.write", {"name": "gw-{role}", "address": "10.98.0.{n}",
                                "secret": NAS_SECRET}),
          ("streets", "inventory.write", {"name": "street-{role}"})]


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(api: Api, role: Role) -> None:
    for n, (kind, permission, template) in enumerate(WRITES, start=1):
        body = {k: v.format(role=role.value, n=n) for k, v in template.items()}
        key = body["name"]
        allowed = permission in PERMISSIONS[role]
        assert api.call("POST", f"/{kind}.json", role=None, body=body)[0] == 401
        assert api.call("POST", f"/{kind}.json", role=role, body=body)[0] == (
            201 if allowed else 403), (role, kind)
        if not allowed:  # the admin makes one for the others to be refused on
            assert api.call("POST", f"/{kind}.json", body=body)[0] == 201
        assert api.call("GET", f"/{kind}/{key}.json", role=role)[0] == (
            200 if "inventory.read" in PERMISSIONS[role] else 403)
        assert api.call("PUT", f"/{kind}/{key}.json", role=None, body={})[0] == 401
        assert api.call("PUT", f"/{kind}/{key}.json", role=role, body={})[0] == (
            200 if allowed else 403)
        assert api.call("DELETE", f"/{kind}/{key}.json", role=None)[0] == 401
        assert api.call("DELETE", f"/{kind}/{key}.json", role=role)[0] == (
            204 if allowed else 403)
