"""The inventory editor on the staff web (/admin/inventory): forms run the importer's own
checks, secrets never come back out, every change is audited, and the roles are kept
apart (NAS clients need nas.write)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from citynet import audit
from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.staff import Role
from inventory import demo
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from inventory.models import Building, Community, NasClient, Street
from tests.conftest import make_config
from tests.support import role_matrix, staff_login
from tests.support import staff_csrf as token

BASE = "/admin/inventory"
NAS_SECRET = "nas-shared-SECRET-4711"
UAM_SECRET = "uam-SECRET-0815"


@dataclass
class Site:
    store: Store
    box: SecretBox
    app: Flask

    def client(self, role: str) -> FlaskClient:
        client: FlaskClient = staff_login(self.app, self.store, role)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    def seed(self, kind: str, *rows: dict[str, Any]) -> None:
        with self.store.session() as session:
            outcome = import_rows(session, [RawRow("test", i, KINDS[kind], row)
                                            for i, row in enumerate(rows)], self.box)
            assert outcome.ok, outcome.problems

    def audit(self, prefix: str = "inventory.") -> list[audit.AuditEntry]:
        with self.store.session() as session:
            entries = list(reversed(audit.recent(session, prefix, limit=500)))
            session.expunge_all()
            return entries

    def nas(self, name: str) -> NasClient:
        with self.store.session() as session:
            found = session.scalar(select(NasClient).where(NasClient.name == name))
            assert found is not None
            session.expunge(found)
            return found


def make_site(config: Config) -> Iterator[Site]:
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    assert box is not None
    try:
        yield Site(store, box, create_app(store, config, box=box,
                                          test_config={"TESTING": True}))
    finally:
        store.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from make_site(make_config(tmp_path))


@pytest.fixture
def backend_site(backend_config: Config) -> Iterator[Site]:
    """On SQLite and on PostgreSQL (filters, deletes and references behave alike)."""
    yield from make_site(backend_config)



def post(client: FlaskClient, path: str, **form: str) -> Any:
    return client.post(path, data={"csrf": token(client), **form})


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def seed_area(site: Site) -> None:
    site.seed("streets", {"name": "桂园", "name_en": "Guiyuan"})
    site.seed("communities", {"name": "老围", "street": "桂园"})


def test_create_street_community_and_building_through_the_forms(backend_site: Site) -> None:
    site = backend_site
    client = site.client("engineer")
    made = post(client, f"{BASE}/streets/new", name="桂园", name_en="Guiyuan")
    assert made.status_code == 302
    assert made.headers["Location"] == f"{BASE}/streets/{quote('桂园')}"
    assert "Guiyuan" in text(client.get(made.headers["Location"]))  # and "created" flashed
    assert post(client, f"{BASE}/communities/new", name="老围",
                street="桂园").status_code == 302
    building = post(client, f"{BASE}/buildings/new", code="LH/0101-001", name="老围大厦",
                    type="government_agency", community="老围", fiber_status="connected",
                    fiber_connected_on="2015-03-01", lat="", lon="")
    assert building.status_code == 302
    page = text(client.get(building.headers["Location"]))  # a key with "/" has its page
    assert 'value="2015-03-01"' in page and "LH/0101-001 created" in page
    with site.store.session() as session:
        stored = session.scalar(select(Building).where(Building.code == "LH/0101-001"))
        assert stored is not None and stored.community.street.name == "桂园"
        assert stored.lat is None
    listed = text(client.get(f"{BASE}/buildings"))
    assert "老围大厦" in listed and "2015-03-01" in listed
    assert client.get(f"{BASE}/buildings.json").get_json() == {
        "kind": "buildings", "key": ["code"],
        "columns": ["code", "name", "address", "type", "community", "fiber_status",
                    "fiber_planned_on", "fiber_connected_on", "lat", "lon"],
        "records": [{"code": "LH/0101-001", "name": "老围大厦", "address": "",
                     "type": "government_agency", "community": "老围",
                     "fiber_status": "connected", "fiber_planned_on": None,
                     "fiber_connected_on": "2015-03-01", "lat": None, "lon": None}]}
    entries = site.audit()
    assert [(e.action, e.target, e.result) for e in entries] == [
        ("inventory.create", "streets:桂园", "ok"),
        ("inventory.create", "communities:老围", "ok"),
        ("inventory.create", "buildings:LH/0101-001", "ok")]
    assert entries[0].detail == {"changed": {"name": [None, "桂园"],
                                             "name_en": [None, "Guiyuan"]}}
    assert entries[0].actor == "test-engineer"


@pytest.mark.parametrize(("lang", "reasons"), [
    ("zh-Hant", ["&#39;castle&#39; 不是以下其中之一：government_agency (政府机关)",
                 "未儲存", "fiber_status 為 connected 時必須填寫"]),
    ("zh-CN", ["&#39;castle&#39; 不是以下之一：government_agency (政府机关)", "未保存",
               "fiber_status 为 connected 时必填"]),
])
def test_the_importers_reasons_are_shown_in_the_readers_language(
        site: Site, lang: str, reasons: list[str]) -> None:
    """The importer keeps a reason as its msgid and values: the editor says it in the
    page's language, the values (the cell as typed) as they are."""
    seed_area(site)
    client = site.client("admin")
    client.get(f"{BASE}/buildings?lang={lang}")  # the session's language
    refused = post(client, f"{BASE}/buildings/new", code="B-9", name="待拆楼", type="castle",
                   community="老围", fiber_status="unconnected")
    assert refused.status_code == 400
    page = text(refused)
    connected = post(client, f"{BASE}/buildings/new", code="B-9", name="待拆楼",
                     type="residential", community="老围", fiber_status="connected")
    page += text(connected)
    assert [reason for reason in reasons if reason not in page] == []
    assert "is not one of" not in page


@pytest.mark.parametrize(("kind", "form", "field", "reason"), [
    ("buildings", {"code": "B-9", "name": "待拆楼", "type": "residential", "community": "老围",
                   "fiber_status": "not_eligible", "fiber_connected_on": "2015-01-01"},
     "fiber_connected_on", "given but fiber_status is not_eligible"),
    ("buildings", {"code": "B-9", "name": "待拆楼", "type": "residential",
                   "community": "无此社区", "fiber_status": "unconnected"},
     "community", "no communities named &#39;无此社区&#39; in the store or this import"),
    ("buildings", {"code": "B-9", "name": "待拆楼", "type": "castle", "community": "老围",
                   "fiber_status": "unconnected"},
     "type", "&#39;castle&#39; is not one of: government_agency"),
    ("nas", {"name": "gw-9", "address": "10.20.0.300", "secret": NAS_SECRET},
     "address", "&#39;10.20.0.300&#39; is not an IP address or CIDR network"),
    ("nas", {"name": "gw-9", "address": "10.20.0.1/24", "secret": NAS_SECRET},
     "address", "has host bits set; did you mean 10.20.0.0/24?"),
    ("nas", {"name": "gw-9", "address": "10.20.0.9"}, "secret", "required"),
    ("streets", {"name": "桂园"}, "name", "&#39;桂园&#39; exists already"),
])
def test_a_row_the_importer_refuses_is_refused_and_nothing_stored(
        site: Site, kind: str, form: dict[str, str], field: str, reason: str) -> None:
    seed_area(site)
    client = site.client("admin")
    refused = post(client, f"{BASE}/{kind}/new", **form)
    page = text(refused)
    assert refused.status_code == 400
    shown = re.search(rf'<span class="bad" id="e-{field}">([^<]*)</span>', page)
    assert shown is not None and reason in shown.group(1)
    assert 'aria-invalid="true"' in page and "Not saved" in page
    for name, value in form.items():  # what was typed is still there, but no secret
        if name == "secret":
            assert value not in page and "type it again" in page
        elif name not in ("type", "fiber_status"):
            assert f'value="{value}"' in page
    with site.store.session() as session:
        assert session.scalar(select(Building.id).where(Building.code == "B-9")) is None
        assert session.scalar(select(NasClient.id)) is None
        assert len(session.scalars(select(Street)).all()) == 1
    assert site.audit() == []


def test_an_edit_keeps_the_fields_it_does_not_touch(site: Site) -> None:
    seed_area(site)
    site.seed("buildings", {"code": "B-1", "name": "一号楼", "address": "人民南路1号",
                            "type": "commercial", "community": "老围",
                            "fiber_status": "planned", "fiber_planned_on": "2016-06-30",
                            "lat": "22.54", "lon": "114.12"})
    client = site.client("engineer")
    form = text(client.get(f"{BASE}/buildings/B-1"))
    assert 'value="人民南路1号"' in form and 'value="2016-06-30"' in form
    assert 'name="code" value="B-1" readonly' in form  # the key is not edited
    # an API client may send only the fields it changes; the code sent is ignored
    edited = post(client, f"{BASE}/buildings/B-1", name="一号楼（新）", code="B-2")
    assert edited.status_code == 302 and edited.headers["Location"] == f"{BASE}/buildings/B-1"
    with site.store.session() as session:
        stored = session.scalar(select(Building).where(Building.code == "B-1"))
        assert stored is not None
        assert (stored.name, stored.address, stored.fiber_status.value, stored.lat) == (
            "一号楼（新）", "人民南路1号", "planned", 22.54)
        assert session.scalar(select(Building.id).where(Building.code == "B-2")) is None
    # the page's own form, cleared field by field: an empty input is an empty cell
    cleared = post(client, f"{BASE}/buildings/B-1", name="一号楼（新）", address="",
                   type="commercial", community="老围", fiber_status="planned",
                   fiber_planned_on="2016-06-30", fiber_connected_on="", lat="", lon="")
    assert cleared.status_code == 302
    unchanged = post(client, f"{BASE}/buildings/B-1", name="一号楼（新）")
    assert "Nothing changed" in text(client.get(unchanged.headers["Location"]))
    edits = site.audit()
    assert [(e.action, e.target) for e in edits] == [("inventory.edit", "buildings:B-1")] * 2
    assert edits[0].detail == {"changed": {"name": ["一号楼", "一号楼（新）"]}}
    assert edits[1].detail == {"changed": {"address": ["人民南路1号", None],
                                           "lat": [22.54, None], "lon": [114.12, None]}}


def test_nas_secrets_are_sealed_and_never_shown(site: Site) -> None:
    seed_area(site)
    site.seed("hotspots", {"name": "老围文化广场", "community": "老围"})
    client = site.client("engineer")
    made = post(client, f"{BASE}/nas/new", name="gw-1", address="10.20.0.1",
                secret=NAS_SECRET, vendor="coovachilli", hotspots="老围文化广场",
                message_authenticator="require", uam_secret=UAM_SECRET,
                portal_login_url="")
    assert made.status_code == 302
    nas = site.nas("gw-1")
    assert NAS_SECRET not in nas.secret_sealed and site.box.open(nas.secret_sealed) == NAS_SECRET
    assert nas.uam_secret_sealed is not None
    assert site.box.open(nas.uam_secret_sealed) == UAM_SECRET
    pages = [text(client.get(path)) for path in (
        f"{BASE}/nas/gw-1", f"{BASE}/nas", f"{BASE}/nas.json", "/inventory/hotspots")]
    for page in pages:
        for secret in (NAS_SECRET, UAM_SECRET, nas.secret_sealed, nas.uam_secret_sealed):
            assert secret not in page
    assert "Set; leave empty to keep the current one." in pages[0]
    assert client.get(f"{BASE}/nas.json").get_json()["records"] == [{
        "name": "gw-1", "address": "10.20.0.1", "vendor": "coovachilli", "policy": "default",
        "hotspots": ["老围文化广场"], "message_authenticator": "require",
        "portal_login_url": None, "portal_protocol": None, "portal_port": None,
        "portal_parameters": None}]

    # an edit that leaves the secrets empty keeps them, token and all
    assert post(client, f"{BASE}/nas/gw-1", address="10.20.0.2", secret="",
                uam_secret="").status_code == 302
    kept = site.nas("gw-1")
    assert kept.address == "10.20.0.2" and kept.secret_sealed == nas.secret_sealed
    assert kept.uam_secret_sealed == nas.uam_secret_sealed
    # a new secret is sealed; the optional UAM secret can be removed
    assert post(client, f"{BASE}/nas/gw-1", secret="another-secret-42",
                uam_secret__clear="1").status_code == 302
    changed = site.nas("gw-1")
    assert site.box.open(changed.secret_sealed) == "another-secret-42"
    assert changed.uam_secret_sealed is None
    # a refused edit does not touch the stored secret either
    refused = post(client, f"{BASE}/nas/gw-1", secret="third-secret", address="not-an-ip")
    assert refused.status_code == 400 and "third-secret" not in text(refused)
    assert site.nas("gw-1").secret_sealed == changed.secret_sealed

    entries = site.audit()
    assert [(e.action, e.target) for e in entries] == [
        ("inventory.create", "nas:gw-1"), ("inventory.edit", "nas:gw-1"),
        ("inventory.edit", "nas:gw-1")]
    assert entries[0].detail["changed"]["secret"] == "(changed)"
    assert entries[0].detail["changed"]["uam_secret"] == "(changed)"
    assert entries[1].detail == {"changed": {"address": ["10.20.0.1", "10.20.0.2"]}}
    assert entries[2].detail == {"changed": {"secret": "(changed)",
                                             "uam_secret": "(changed)"}}
    logged = str([(e.detail, e.reason) for e in site.audit("")])
    for secret in (NAS_SECRET, UAM_SECRET, "another-secret-42", "third-secret",
                   nas.secret_sealed):
        assert secret not in logged


def test_a_short_nas_secret_needs_the_editors_allow_box(site: Site) -> None:
    client = site.client("engineer")
    refused = post(client, f"{BASE}/nas/new", name="old-ac", address="10.20.0.7",
                   secret="tiny-secret")
    assert refused.status_code == 400 and "shorter than 16 characters" in text(refused)
    assert "tiny-secret" not in text(refused) and 'name="allow_short_secret"' in text(refused)
    made = post(client, f"{BASE}/nas/new", name="old-ac", address="10.20.0.7",
                secret="tiny-secret", allow_short_secret="yes")
    assert made.status_code == 302
    assert site.box.open(site.nas("old-ac").secret_sealed) == "tiny-secret"
    # other edits keep the stored secret without the box
    assert post(client, f"{BASE}/nas/old-ac", policy="library").status_code == 302
    assert site.box.open(site.nas("old-ac").secret_sealed) == "tiny-secret"
    assert "allow_short_secret" not in str(site.audit()[-1].detail)  # not a stored field


def test_a_record_others_refer_to_is_not_deleted(backend_site: Site) -> None:
    site = backend_site
    seed_area(site)
    site.seed("hotspots", {"name": "老围文化广场", "community": "老围"})
    site.seed("nas", {"name": "gw-1", "address": "10.20.0.1", "secret": NAS_SECRET,
                      "hotspots": "老围文化广场"})
    site.seed("targets", {"metric": "fiber_coverage_eligible", "scope": "street:桂园",
                          "target": "90", "deadline": "2015-12-31", "owner": "区科创局"})
    client = site.client("admin")
    refused = post(client, f"{BASE}/communities/老围/delete")
    assert refused.status_code == 302
    message = text(client.get(refused.headers["Location"]))
    assert "老围 cannot be deleted: still referred to by Hotspots 老围文化广场" in message
    refused_hotspot = post(client, f"{BASE}/hotspots/老围文化广场/delete")
    assert "NAS (RADIUS clients) gw-1" in text(client.get(refused_hotspot.headers["Location"]))
    street = post(client, f"{BASE}/streets/桂园/delete")
    street_page = text(client.get(street.headers["Location"]))
    assert "Communities 老围" in street_page and "Coverage targets" in street_page
    with site.store.session() as session:
        assert session.scalar(select(Community.id).where(Community.name == "老围")) is not None

    # take the references away one by one, then the deletes go through
    for path in ("nas/gw-1", "hotspots/老围文化广场", "communities/老围",
                 f"targets/{quote('fiber_coverage_eligible|street:桂园')}", "streets/桂园"):
        gone = post(client, f"{BASE}/{path}/delete")
        assert gone.status_code == 302 and gone.headers["Location"].startswith(BASE)
        assert "deleted" in text(client.get(gone.headers["Location"]))
    with site.store.session() as session:
        assert session.scalars(select(Street)).all() == []
    assert post(client, f"{BASE}/streets/桂园/delete").status_code == 404
    entries = [(e.action, e.target, e.result) for e in site.audit()]
    assert entries[:3] == [("inventory.delete", "communities:老围", "refused"),
                           ("inventory.delete", "hotspots:老围文化广场", "refused"),
                           ("inventory.delete", "streets:桂园", "refused")]
    assert entries[3:] == [("inventory.delete", f"{kind}:{key}", "ok") for kind, key in (
        ("nas", "gw-1"), ("hotspots", "老围文化广场"), ("communities", "老围"),
        ("targets", "fiber_coverage_eligible|street:桂园"), ("streets", "桂园"))]
    detail = site.audit()[3].detail["changed"]
    assert detail["secret"] == "(changed)" and detail["address"] == ["10.20.0.1", None]
    assert NAS_SECRET not in str(site.audit())


READS = ["/streets", "/streets.json", "/streets/new", "/streets/桂园", "/nas", "/nas.json",
         "/nas/new", "/nas/gw-1"]
WRITES = [  # (path, the permission it takes, the form)
    ("/streets/new", "inventory.write", {"name": "黄贝"}),
    ("/streets/桂园", "inventory.write", {"name_en": "Gui Yuan"}),
    ("/communities/老围/delete", "inventory.write", {}),
    ("/nas/new", "nas.write", {"name": "gw-2", "address": "10.20.0.2", "secret": NAS_SECRET}),
    ("/nas/gw-1", "nas.write", {"policy": "strict"}),
    ("/nas/gw-1/delete", "nas.write", {})]


@pytest.mark.parametrize("role", ["manager", "auditor", "operator", "engineer", "admin"])
def test_role_matrix(site: Site, role: str) -> None:
    seed_area(site)
    site.seed("nas", {"name": "gw-1", "address": "10.20.0.1", "secret": NAS_SECRET})
    client = site.client(role)
    role_matrix(Role(role), [(path, "inventory.read") for path in READS],
                lambda path: client.get(BASE + path).status_code)
    writer = role in ("engineer", "admin")
    form = text(client.get(f"{BASE}/streets/桂园"))
    assert ("<fieldset disabled>" not in form) == writer
    assert ("Save</button>" in form) == writer and ("Delete 桂园" in form) == writer
    role_matrix(Role(role), [((path, data), permission) for path, permission, data in WRITES],
                lambda call: post(client, BASE + call[0], **call[1]).status_code,
                allowed=(302,))
    if not writer:
        assert site.audit() == []


def test_nas_writes_need_nas_write(site: Site) -> None:
    """The NAS kind asks for nas.write, every other kind for inventory.write."""
    view = site.app.view_functions["inventory_edit.edit"]
    assert getattr(view, "permission", None) == "inventory.write"
    from inventory.web import write_permission

    assert write_permission("nas") == "nas.write"
    assert write_permission("buildings") == "inventory.write"
    operator = site.client("operator")
    refused = post(operator, f"{BASE}/nas/new", name="gw-2", address="10.20.0.2",
                   secret=NAS_SECRET)
    assert refused.status_code == 403 and "nas.write" in text(refused)


def test_posts_without_the_form_token_are_refused(site: Site) -> None:
    client = site.client("admin")
    refused = client.post(f"{BASE}/streets/new", data={"name": "黄贝"})
    assert refused.status_code == 400
    with site.store.session() as session:
        assert session.scalars(select(Street)).all() == []
    assert site.audit() == []


def test_lists_filter_and_page_by_key(backend_site: Site) -> None:
    site = backend_site
    site.seed("streets", *({"name": f"street-{n:03}"} for n in range(150)))
    client = site.client("manager")
    first = text(client.get(f"{BASE}/streets"))
    assert "street-000" in first and "street-099" in first and "street-100" not in first
    assert "Page 1 of 2" in first
    second = text(client.get(f"{BASE}/streets?page=2"))
    assert "street-149" in second and "street-099" not in second
    found = text(client.get(f"{BASE}/streets?q=STREET-12"))
    assert "street-120" in found and "street-129" in found and "street-130" not in found
    assert client.get(f"{BASE}/streets?q=a&q=b").status_code == 400
    assert client.get(f"{BASE}/streets?page=0").status_code == 400
    assert client.get(f"{BASE}/streets?q=" + "x" * 200).status_code == 400
    chinese = text(client.get(f"{BASE}/streets?lang=zh-CN"))
    assert "<h1>街道" in chinese and "按键筛选" in chinese and "Filter by key" not in chinese
    assert client.get(f"{BASE}/castles").status_code == 404
    assert client.get(f"{BASE}/streets/nowhere").status_code == 404


def test_the_demo_district_edits_like_any_other(site: Site) -> None:
    """Links from the overview and the hotspots page lead to the editor."""
    with site.store.session() as session:
        assert import_rows(session, demo.raw_rows(), site.box).ok
    client = site.client("engineer")
    overview = text(client.get("/inventory/"))
    for kind in KINDS:
        assert f'href="{BASE}/{kind}"' in overview
    hotspots = text(client.get("/inventory/hotspots?lang=zh-Hant"))
    link = re.search(rf'href="({BASE}/hotspots/[^"]+)">編輯</a>', hotspots)
    assert link is not None and client.get(link.group(1)).status_code == 200
    nas = text(client.get(f"{BASE}/nas/{demo.DEMO_NAS}"))
    assert demo.DEMO_NAS_SECRET not in nas and demo.DEMO_UAM_SECRET not in nas
    assert post(client, f"{BASE}/nas/{demo.DEMO_NAS}", policy="night").status_code == 302
    assert site.box.open(site.nas(demo.DEMO_NAS).secret_sealed) == demo.DEMO_NAS_SECRET
