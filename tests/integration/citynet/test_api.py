"""The staff JSON API against its OpenAPI document, with schemathesis, on SQLite and on
PostgreSQL (a new database for the run): every documented call, reads and writes, with
generated parameters and bodies (valid and out-of-range ones), answers as documented and
never with a 5xx."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from schemathesis import Case
from schemathesis.checks import (
    allow_header_conformance,
    negative_data_rejection,
    positive_data_acceptance,
)

from citynet import audit, openapi, staff
from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store, set_meta
from devices import approvals
from inventory import demo
from inventory.importer import import_rows
from portal import merchants
from radius import vouchers
from radius.models import RadiusSession
from tests.conftest import make_config, pg_databases

pytestmark = pytest.mark.slow

# calls whose answer to a body valid by the document depends on the store: an inventory
# kind's fields (422), a voucher batch's name taken (409), a merchant's rules (422), a
# session, voucher or change request that is not there (404) or not in a state for it
# (409), a selection with nothing to change (422)
STATEFUL = {("POST", "/admin/inventory/{kind}.json"),
            ("PUT", "/admin/inventory/{kind}/{key}.json"),
            ("DELETE", "/admin/inventory/{kind}/{key}.json"),
            ("POST", "/admin/vouchers.json"), ("POST", "/admin/voucher-revocations.json"),
            ("POST", "/admin/merchants.json"), ("PUT", "/admin/merchants/{id}.json"),
            ("POST", "/admin/sessions/bandwidth.json"), ("POST", "/admin/sessions/kick"),
            ("POST", "/admin/devices/changes.json"),
            ("POST", "/admin/devices/changes/{id}/push.json")}


@dataclass
class Api:
    app: Flask
    store: Store
    token: str


def _seeded(store: Store, config: Config) -> Api:
    """A demo district without its network devices (a change request would plan them over
    SSH), an admin's token, a merchant, a voucher batch, an open session at a NAS that is
    gone (a CoA cannot be sent: 409, not a wait for a NAS) and a pending change request."""
    box = open_box(config, store, create=True)
    now = datetime.now(UTC)
    with store.session() as session:
        import_rows(session, [row for row in demo.raw_rows() if row.kind.name != "devices"],
                    box)
        set_meta(session, demo.DEMO_MARK, "demo")
        staff.add(session, "api-admin", staff.Role.ADMIN, "an api admin password")
        token = staff.issue_token(session, "api-admin", "schemathesis")
        audit.record(session, audit.Action("devices.push", "site:x", "ok", "CHG-1"))
        merchants.add(session, merchants.Draft("Tea house", "food", "10% off", (),
                                               date(2026, 1, 1), date(2027, 1, 1)), now)
        vouchers.create(session, 5, 60, 1, "sheet-1", 30)
        session.add(RadiusSession(nas="gw-gone", session_id="s-1", username="13800138000",
                                  identity="13800138000", method="sms",
                                  calling_station="AA-BB-CC-DD-EE-01", called_station="",
                                  framed_ip="10.8.0.1", started_at=now, updated_at=now,
                                  session_time=0, input_octets=0, output_octets=0,
                                  terminate_cause=""))
        approvals.add(session, selectors=["luohu-core-01"], templates=["baseline"],
                      devices=[{"hostname": "luohu-core-01", "site": "x", "added": ["a"],
                                "removed": [], "commands": ["a"]}], reason="CHG-2",
                      requested_by="someone", now=now)
    return Api(create_app(store, config, box=box, test_config={"TESTING": True}), store,
               token)


@pytest.fixture(scope="module", params=[
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    with tempfile.TemporaryDirectory(prefix="citynet-api-") as directory, \
            pg_databases() as new_database:
        url = new_database() if request.param == "postgresql" else ""
        config = make_config(Path(directory), **({"database": {"url": url}} if url else {}))
        store = Store.from_config(config)
        store.upgrade()
        try:
            yield _seeded(store, config)
        finally:
            store.close()


# the document the app serves (a test below holds them equal); each call goes to the app
# of the store under test (schemathesis's from_fixture does not run on pytest 9)
schema = schemathesis.openapi.from_dict(openapi.document())


@schema.parametrize()
def test_the_api_answers_as_documented(case: Case, api: Api) -> None:
    # unknown query parameters are ignored, as REST APIs do, rather than refused; every
    # other out-of-range value must be refused
    documented = {p["name"] for p in api.app.test_client().get("/api/openapi.json")
                  .get_json()["paths"][case.path]
                  .get(case.method.lower(), {}).get("parameters", [])}
    extra = set(case.query or {}) - documented
    excluded: list[Callable[..., object]] = [negative_data_rejection] if extra else []
    if (case.method, case.path) in STATEFUL:
        excluded.append(positive_data_acceptance)
    if case.path.startswith("/admin/inventory/{kind}"):
        # a record whose key ends in ".json" has its editor form at the same address,
        # so OPTIONS also lists the form's POST
        excluded.append(allow_header_conformance)
    # schemathesis puts a generated path value into the path as it is: a '?' or '#' in
    # it (from a value such as ['?']) would begin the query or the fragment, and
    # werkzeug's client refuses the request; an HTTP client percent-encodes them
    case.path_parameters = {name: str(value).replace("?", "%3F").replace("#", "%23")
                            for name, value in (case.path_parameters or {}).items()}
    case.operation.schema.app = api.app  # for the checks' own probes (ignored_auth)
    case.call_and_validate(headers={"Authorization": f"Bearer {api.token}"},
                           excluded_checks=excluded or None, app=api.app)


WRITES = {("post", "/admin/inventory/{kind}.json"), ("post", "/admin/sessions/kick"),
          ("post", "/admin/vouchers.json"), ("put", "/admin/inventory/{kind}/{key}.json"),
          ("delete", "/admin/inventory/{kind}/{key}.json"),
          ("post", "/admin/sessions/bandwidth.json"), ("post", "/admin/voucher-revocations.json"),
          ("post", "/admin/merchants.json"), ("put", "/admin/merchants/{id}.json"),
          ("delete", "/admin/merchants/{id}.json"), ("post", "/admin/devices/changes.json"),
          ("post", "/admin/devices/changes/{id}/push.json")}


def test_without_a_token_every_call_is_401(api: Api) -> None:
    client = api.app.test_client()
    document = client.get("/api/openapi.json").get_json()
    assert document == json.loads(json.dumps(schema.raw_schema))  # what the cases come from
    assert {(method, path) for path, item in document["paths"].items()
            for method in item} == {
        *(("get", path) for path in (
            "/admin/whoami.json", "/inventory/summary.json", "/dashboard/targets.json",
            "/admin/audit.json", "/admin/sessions.json", "/admin/vouchers.json",
            "/admin/merchants.json", "/admin/merchants/{id}.json",
            "/admin/devices/changes.json", "/admin/devices/changes/{id}.json",
            "/admin/inventory/{kind}.json", "/admin/inventory/{kind}/{key}.json")),
        *WRITES}
    for path, item in document["paths"].items():
        path = path.replace("{kind}", "nas").replace("{key}", "gw-1").replace("{id}", "1")
        for method in item:  # no CSRF field either: refused for want of a token
            assert client.open(path, method=method, data={}).status_code == 401, path
    whoami = client.get("/admin/whoami.json", headers={
        "Authorization": f"Bearer {api.token}"}).get_json()
    assert whoami["role"] == "admin" and "audit.read" in whoami["permissions"]
