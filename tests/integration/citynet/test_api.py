"""The staff JSON API against its OpenAPI document, with schemathesis: every documented
call, with generated parameters (valid and out-of-range ones), answers as documented and
never with a 5xx."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from schemathesis import Case
from schemathesis.checks import negative_data_rejection

from citynet import audit, staff
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store, set_meta
from inventory import demo
from inventory.importer import import_rows
from tests.conftest import make_config

pytestmark = pytest.mark.slow


def _build() -> tuple[Flask, Store, str, str]:
    """The app on a demo district with an admin's token. Built at import: schemathesis
    reads the document when the tests are collected."""
    directory = tempfile.mkdtemp(prefix="citynet-api-")
    config = make_config(Path(directory))
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    with store.session() as session:
        import_rows(session, demo.raw_rows(), box)
        set_meta(session, demo.DEMO_MARK, "demo")
        staff.add(session, "api-admin", staff.Role.ADMIN, "an api admin password")
        token = staff.issue_token(session, "api-admin", "schemathesis")
        audit.record(session, audit.Action("devices.push", "site:x", "ok", "CHG-1"))
    return create_app(store, config, box=box, test_config={"TESTING": True}), store, token, \
        directory


APP, STORE, TOKEN, DIRECTORY = _build()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _clean_up() -> Iterator[None]:
    yield
    STORE.close()
    shutil.rmtree(DIRECTORY, ignore_errors=True)


@schema.parametrize()
def test_the_api_answers_as_documented(case: Case) -> None:
    # unknown query parameters are ignored, as REST APIs do, rather than refused; every
    # other out-of-range value must be refused
    documented = {p["name"] for p in APP.test_client().get("/api/openapi.json")
                  .get_json()["paths"][case.path]["get"].get("parameters", [])}
    extra = set(case.query or {}) - documented
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                           excluded_checks=[negative_data_rejection] if extra else None)


def test_without_a_token_every_call_is_401() -> None:
    client = APP.test_client()
    document = client.get("/api/openapi.json").get_json()
    assert set(document["paths"]) == {
        "/admin/whoami.json", "/inventory/summary.json", "/dashboard/targets.json",
        "/admin/audit.json", "/admin/sessions.json", "/admin/vouchers.json",
        "/admin/merchants.json", "/admin/devices/changes.json", "/admin/inventory/{kind}.json"}
    for path in document["paths"]:
        path = path.replace("{kind}", "nas")
        assert client.get(path).status_code == 401, path
    whoami = client.get("/admin/whoami.json", headers={
        "Authorization": f"Bearer {TOKEN}"}).get_json()
    assert whoami["role"] == "admin" and "audit.read" in whoami["permissions"]
