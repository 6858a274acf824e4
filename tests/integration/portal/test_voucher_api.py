"""The staff API's voucher batch creation (POST /admin/vouchers.json): the vouchers page's
use case and audit entry, errors keyed by field, no codes in the answer, and who gets
401/403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from citynet.access import PERMISSIONS
from citynet.app import create_app
from citynet.audit import AuditEntry
from citynet.crypto import open_box
from citynet.db import Store
from citynet.staff import Role
from radius.vouchers import Voucher
from tests.conftest import make_config
from tests.support import api_tokens


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Flask, Store, dict[Role, str]]]:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    tokens = api_tokens(store)
    try:
        yield create_app(store, config, box=box, test_config={"TESTING": True}), store, tokens
    finally:
        store.close()


def test_a_batch_over_the_api(site: tuple[Flask, Store, dict[Role, str]]) -> None:
    app, store, tokens = site
    client = app.test_client()
    auth = {"Authorization": f"Bearer {tokens[Role.OPERATOR]}"}
    made = client.post("/admin/vouchers.json", json={"batch": "library-may", "count": 3,
                                                     "minutes": "60"}, headers=auth)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["batch"] == "library-may" and body["count"] == 3 and body["unused"] == 3
    with store.session() as db:
        codes = db.scalars(select(Voucher.code).where(Voucher.batch == "library-may")).all()
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "vouchers.create")
                           ).one()
        assert entry.actor == "api-operator" and entry.detail["minutes"] == 60
    assert len(codes) == 3 and not any(code in made.get_data(as_text=True) for code in codes)
    again = client.post("/admin/vouchers.json", json={"batch": "library-may"}, headers=auth)
    assert again.status_code == 409 and list(again.get_json()["errors"]) == ["batch"]
    bad = client.post("/admin/vouchers.json", json={"batch": "x", "count": 0,
                                                    "minutes": True}, headers=auth)
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"minutes"}
    bad = client.post("/admin/vouchers.json", json={"batch": "x y", "count": 0}, headers=auth)
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"batch", "count"}


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(site: tuple[Flask, Store, dict[Role, str]], role: Role) -> None:
    app, _, tokens = site
    client = app.test_client()
    assert client.post("/admin/vouchers.json", json={"batch": "b"}).status_code == 401
    answer = client.post("/admin/vouchers.json", json={"batch": f"b-{role.value}"},
                         headers={"Authorization": f"Bearer {tokens[role]}"})
    assert answer.status_code == (201 if "vouchers.write" in PERMISSIONS[role] else 403)
