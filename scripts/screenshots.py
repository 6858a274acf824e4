"""Screenshot every page: a demo district in a temporary SQLite store, the app served on a
free loopback port in this process, Debian's Chromium (Playwright) signed in as an admin.
Each GET page of the Flask URL map, in each of its languages, at 360, 390, 768 and
1366 px (full-page PNG) and printed on A4 (PDF), with an index.html of thumbnails.

    PYTHONPATH=$PWD .venv/bin/python scripts/screenshots.py [OUT] [--widths 360,1366]
                                                        [--only /admission,/admin/]
    # OUT: /tmp/citynet-shots; --widths: fewer widths for a quicker look (default all four);
    # --only: just the pages whose path starts so (after a change to a few pages)

Portal pages are reached as a phone would reach them: through the hotspot simulator's UAM
hand-off (a RADIUS listener on free loopback ports), one MAC and one voucher per language;
the status and success pages after a voucher login. Pages with URL parameters are filled
from the first link to them found on the pages already visited (the first street, NAS,
voucher batch...); the others are listed as not filled. The pages that have nothing to show
in the demo alone get one of their own: a merchant's offer, a pending device change
request and a device job (a push with a changed and a rolled-back device).
"""

from __future__ import annotations

import html
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
from werkzeug.exceptions import HTTPException

from admission import authority, holds, mab, people
from admission.settings import NacConfig
from citynet import audit, staff
from citynet import config as config_module
from citynet.app import create_app
from citynet.config import RadiusConfig
from citynet.domains import registered
from citynet.runtime import Runtime
from citynet.server import serving
from devices import approvals
from inventory.demo import DEMO_NAS, DEMO_NAS_SECRET, DEMO_UAM_SECRET
from portal import merchants
from portal.simulator import Simulator
from radius import vouchers
from radius.models import RadiusSession
from radius.service import RadiusService

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = (360, 390, 768, 1366)
STAFF_LANGS = ("zh-CN", "zh-Hant", "en")
PORTAL_LANGS = ("zh-CN", "zh-Hant", "en")
# staff pages whose text is in gettext catalogs: every catalog language (docs/i18n.md)
CATALOGUED = ("/dashboard", "/inventory", "/admin/inventory")
ADMIN, PASSWORD = "shots.admin", "a screenshot admin's long password"
# not pages: machine formats, files, sign-out and the endpoints only a NAS or script calls
# (not "radius": it named the radius_admin blueprint's sessions, records and retention)
SKIP_WORDS = ("static", "api", "metrics", "csv", "json", "png", "svg", "pdf", "xlsx",
              "export", "openapi", "health", "logout", "signout", "download", "qr",
              "capport", "rlm", "feed", "yaml", "debug", "favicon", "image")


def skipped(rule: Any) -> bool:
    text = f"{rule.rule} {rule.endpoint}".lower()
    return "GET" not in rule.methods or any(word in text for word in SKIP_WORDS)


def seed(data_dir: Path) -> tuple[Runtime, Any, list[str], dict[str, str]]:
    """The demo district, as `citynet demo --seed-only` makes it, plus an admin, a
    voucher batch (one voucher per portal language) and what :func:`extras` adds; with
    the paths of the pages no link leads a signed-in admin to."""
    runtime = Runtime()
    config = config_module.from_dict({"data_dir": str(data_dir), "nac": NAC_SETTINGS})
    config = config.model_copy(update={"portal": config.portal.model_copy(
        update={"show_outbox": True, "app_enrolment": True})})
    runtime.__dict__["config"] = config
    runtime.raw_store.upgrade()
    box = runtime.box(create=True)
    if box is None:
        raise SystemExit("the demo needs a secrets key")
    for domain in registered():
        if domain.demo_seed is not None:
            domain.demo_seed(runtime, box)
    with runtime.store.session() as session:
        staff.add(session, ADMIN, staff.Role.ADMIN, PASSWORD)
        codes = [vouchers.display(v.code) for v in vouchers.create(
            session, len(PORTAL_LANGS), 120, 1, "screenshots", valid_days=30)]
        known = extras(session) | admission_extras(session, box)
    return runtime, box, codes, known


def extras(session: Any) -> dict[str, str]:
    """A merchant's offer, a pending device change request and a device job: pages the
    demo district alone leaves empty. Returns the paths no page links to."""
    now = datetime.now(UTC)
    offer = merchants.add(session, merchants.Draft(
        "东门书店 Dongmen Books", "文化 culture",
        "凭此页购书九折 · 10% off any book with this page",
        (), now.date() - timedelta(days=1), now.date() + timedelta(days=30)), now)
    plan = [{"hostname": name, "site": site, "added": added, "removed": removed,
             "commands": [*added, *(f"undo {line[2:]}" for line in removed)] if added else []}
            for name, site, added, removed in (
                ("dongmen-acc-01", "东门社区", ["+ ntp-service unicast-server 10.0.0.123"],
                 ["- ntp-service unicast-server 10.0.0.9"]),
                ("dongmen-acc-02", "东门社区", ["+ ntp-service unicast-server 10.0.0.123"],
                 ["- ntp-service unicast-server 10.0.0.9"]),
                ("dongmen-agg-01", "东门", [], []))]
    approvals.add(session, selectors=["site:东门社区"], templates=["ntp"], devices=plan,
                  reason="CHG-2026-1201 NTP server move", requested_by="engineer.li", now=now)
    audit.record(session, audit.Action(
        "devices.push", "site:东门社区", "partial", "CHG-2026-1127 NTP",
        {"devices": [{"hostname": "dongmen-acc-01", "status": "pushed", "error": "",
                      "added": plan[0]["added"], "removed": plan[0]["removed"], "rollback": ""},
                     {"hostname": "dongmen-acc-02", "status": "rolled_back", "added": [],
                      "removed": [], "rollback": "restored the state before the change "
                      "(3 commands)", "error": "dongmen-acc-02: refused 'ntp-service "
                      "unicast-server 10.0.0.123': Error: The command failed"}],
         "not_ready": [{"hostname": "dongmen-agg-01", "reason": "no backup yet"}]},
        actor="engineer.li"))
    return {"portal.offer": f"/portal/offers/{offer.id}"}


NAC_SETTINGS = {
    "roles": {"staff": {"vlan": "10", "filter_id": "staff-acl"},
              "teacher": {"vlan": "20", "hours": "07:00-19:00", "devices": 3},
              "student": {"vlan": "30", "devices": 2}},
    "peap_roles": ["staff"],
    "mab_profiles": {"printer": {"vlan": "50"}, "camera": {"vlan": "60"}}}
NAC = NacConfig.model_validate(NAC_SETTINGS)
# people as a school's and an office's HR files give them: long names, a disabled one
PEOPLE = ("username,real_name,department,phone,role,status\n"
          "wangfang,王芳,深圳市罗湖区东门中学初中部语文教研组,13800138001,teacher,active\n"
          "zhangwei,張偉,罗湖区政务服务数据管理局,13800138002,staff,active\n"
          "lilei,李雷,东门中学,,student,active\n"
          "hanmeimei,韩梅梅,东门中学,,student,disabled\n"
          "a.long.username.of.an.exchange.teacher,Maria Fernanda Rodrigues da Silva,"
          "International Department,,teacher,active\n")


def admission_extras(session: Any, box: Any) -> dict[str, str]:
    """Network admission's pages with something on them: people, the district's CA and
    certificates (one revoked), a password hold, MAC bypass entries and an unknown MAC,
    and open 802.1X and MAC bypass sessions on the demo NAS; the person page to shoot is
    that of the person with certificates and the hold."""
    now = datetime.now(UTC)
    rows, problems = people.read_csv(PEOPLE, "hr.csv")
    if problems:
        raise SystemExit(f"screenshot people: {problems}")
    people.apply(session, rows)
    authority.init(session, box, "罗湖区示范区", "radius.luohu.example", now)
    for username, device in (("wangfang", "laptop"), ("wangfang", "phone"),
                             ("zhangwei", "办公室台式机")):
        authority.issue(session, box, username, device, now)
    authority.revoke(session, authority.certificates(session)[1].serial, now,
                     reason="phone lost")
    # a password hold in force, so the person's page shows it and its lift button
    for _ in range(NAC.password_limits.device):
        holds.count_failure(session, "wangfang", "f0-18-98-aa-bb-09", NAC.password_limits, now)
    for mac, profile in (("00-1b-63-84-45-e6", "printer"), ("3c-ef-8c-10-20-30", "camera")):
        mab.add(session, NAC, mac, profile, now)
    for mac, port in (("a4-5e-60-00-11-22", "GigabitEthernet0/0/7"),
                      ("da-a1-19-5c-33-02", "GigabitEthernet0/0/9")):  # a phone's private one
        mab.note_unknown(session, mab.Seen(mab.normal(mac), DEMO_NAS, port), now)
    for number, (who, method, mac, station) in enumerate((
            ("wangfang", "eap", "f0-18-98-aa-bb-01", "port:GigabitEthernet0/0/3"),
            ("zhangwei", "eap", "f0-18-98-aa-bb-02", "ap:LH-GOV-3F-01 ssid:luohu-staff"),
            ("00-1b-63-84-45-e6", "mab", "00-1b-63-84-45-e6", "port:GigabitEthernet0/0/12"))):
        session.add(RadiusSession(nas=DEMO_NAS, session_id=f"shots-{number}", username=who,
                                  identity=who, method=method, calling_station=mac,
                                  called_station=station, framed_ip=f"10.20.0.{number + 10}",
                                  started_at=now - timedelta(minutes=5 + 40 * number),
                                  updated_at=now))
    return {"admission_web.person_page": "/admin/nac/people/wangfang"}


def sign_in(page: Any, base: str, runtime: Runtime, box: Any) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#name", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    with runtime.store.session() as session:
        secret = box.open(staff.get(session, ADMIN).totp_sealed)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("form:has(#code) button[type=submit]")
    page.wait_for_load_state()
    if "/login" in page.url:
        raise SystemExit(f"could not sign in: still at {page.url}")


def links(page: Any, base: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(  # SVG links too: getAttribute, not .href
        "a[href]", "els => els.map(e => new URL(e.getAttribute('href'), location.href).href)")
    return [urlsplit(h).path for h in hrefs if h.startswith(base)]


def discover(app: Any, page: Any, base: str,
             known: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Endpoint -> a path to open it (``known`` ones as given); and the rules that could
    not be filled."""
    adapter = app.url_map.bind("127.0.0.1")
    rules = [r for r in app.url_map.iter_rules() if not skipped(r)]
    paths = {r.endpoint: r.rule for r in rules if not r.arguments}
    paths.update(known)
    wanted = {r.endpoint for r in rules if r.arguments} - set(known)
    queue = list(paths.values())
    seen: set[str] = set()
    while queue and wanted:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            page.goto(base + path)
        except Exception as exc:  # a page that fails to load gives no links
            print(f"could not open {path}: {exc}", flush=True)
            continue
        for found in links(page, base):
            try:
                endpoint, _args = adapter.match(found, method="GET")
            except HTTPException:
                continue
            if endpoint in wanted:
                wanted.discard(endpoint)
                paths[endpoint] = found
                queue.append(found)
    unfilled = sorted(r.rule for r in rules if r.endpoint in wanted)
    return paths, unfilled


class Phone:
    """The portal as a phone behind the hotspot reaches it: a browser context (cookies of
    its own) and a hand-off per language, then a voucher login before the pages that
    need one."""

    ONLINE = ("/portal/status", "/portal/success")

    def __init__(self, browser: Any, hotspot: str, codes: list[str]) -> None:
        self.browser, self.hotspot = browser, hotspot
        self.codes = dict(zip(PORTAL_LANGS, codes, strict=True))
        self.pages: dict[str, Any] = {}
        self.online: set[str] = set()

    def page(self, path: str, lang: str) -> Any:
        start = (f"{self.hotspot}/news?sim-mac=02-00-00-00-5C-"
                 f"{PORTAL_LANGS.index(lang):02X}&lang={lang}")
        if lang not in self.pages:
            page = self.browser.new_page(viewport={"width": WIDTHS[1], "height": 900})
            page.goto(start)
            page.wait_for_url("**/portal/**")
            self.pages[lang] = page
        page = self.pages[lang]
        if path in self.ONLINE and lang not in self.online:
            page.goto(start)
            page.wait_for_url("**/portal/**")
            page.fill("#code", self.codes[lang])
            page.locator("form:has(#code) input[name=consent]").check()
            page.locator("form:has(#code) button").click()
            page.wait_for_url("**/portal/**res=success**")
            self.online.add(lang)
        return page


def order(item: tuple[str, str]) -> tuple[bool, str]:
    return item[1] in Phone.ONLINE, item[1]


def shoot(staff_page: Any, base: str, paths: dict[str, str], out: Path,
          phone: Phone, widths: tuple[int, ...] = WIDTHS) -> list[dict[str, Any]]:
    shots = []
    for endpoint, path in sorted(paths.items(), key=order):
        portal = path.startswith("/portal")
        langs = PORTAL_LANGS if portal or path.startswith(CATALOGUED) else STAFF_LANGS
        for lang in langs:
            page = phone.page(path, lang) if portal else staff_page
            name = f"{endpoint.replace('.', '-')}-{lang}"
            page.set_viewport_size({"width": WIDTHS[-1], "height": 900})
            response = page.goto(f"{base}{path}?lang={lang}")
            status = response.status if response else 0
            kind = response.headers.get("content-type", "") if response else ""
            if "text/html" not in kind:
                print(f"skip {path} ({kind})", flush=True)
                break
            row = {"endpoint": endpoint, "path": path, "lang": lang, "status": status,
                   "url": page.url, "files": [], "overflow": []}
            for width in widths:
                page.set_viewport_size({"width": width, "height": 900})
                if not page.evaluate("document.documentElement.scrollWidth <= innerWidth"):
                    row["overflow"].append(width)
                file = f"{name}-{width}.png"
                page.screenshot(path=out / file, full_page=True)
                row["files"].append(file)
            page.emulate_media(media="print")
            page.pdf(path=out / f"{name}-a4.pdf", format="A4", print_background=True)
            page.emulate_media(media="screen")
            row["pdf"] = f"{name}-a4.pdf"
            shots.append(row)
            print(f"{status} {path} {lang} overflow={row['overflow']}", flush=True)
    return shots


def index(out: Path, shots: list[dict[str, Any]], unfilled: list[str]) -> None:
    rows = []
    for row in shots:
        thumbs = "".join(
            f'<a href="{f}"><img src="{f}" width="120" loading="lazy" alt="{f}"></a>'
            for f in row["files"])
        warn = f" <b>wider than {row['overflow']}</b>" if row["overflow"] else ""
        rows.append(f"<tr><td>{html.escape(row['path'])}<br>{row['lang']} "
                    f"{row['status']}{warn}<br><a href=\"{row['pdf']}\">A4 PDF</a></td>"
                    f"<td>{thumbs}</td></tr>")
    skipped_list = "".join(f"<li>{html.escape(rule)}</li>" for rule in unfilled)
    (out / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>citynet screenshots</title>"
        "<style>td{vertical-align:top;border-top:1px solid #ccc}img{margin:2px}</style>"
        f"<h1>citynet screenshots ({len(shots)} page × language)</h1>"
        f"<table>{''.join(rows)}</table><h2>Not filled</h2><ul>{skipped_list}</ul>",
        encoding="utf-8")


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    args = list(argv[1:])
    widths: tuple[int, ...] = WIDTHS
    if "--widths" in args:
        at = args.index("--widths")
        widths = tuple(int(w) for w in args[at + 1].split(","))
        del args[at:at + 2]
    only: tuple[str, ...] = ()
    if "--only" in args:
        at = args.index("--only")
        only = tuple(args[at + 1].split(","))
        del args[at:at + 2]
    out = Path(args[0] if args else "/tmp/citynet-shots")  # noqa: S108
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="citynet-shots-") as data:
        runtime, box, codes, known = seed(Path(data))
        app = create_app(runtime.store, runtime.config, box=box)
        web = ExitStack()  # closed last, with the rest in the finally below
        base = web.enter_context(serving(app))
        radius = RadiusService(runtime.store, box, RadiusConfig(
            bind="127.0.0.1", auth_port=0, acct_port=0))
        radius.start()
        hotspot = Simulator(f"{base}/portal/", "127.0.0.1", radius.ports[0], radius.ports[1],
                            DEMO_NAS_SECRET, DEMO_NAS, DEMO_UAM_SECRET)
        hotspot.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=["--no-sandbox"])
                try:
                    page = browser.new_page(viewport={"width": 1366, "height": 900})
                    page.set_default_timeout(30_000)
                    sign_in(page, base, runtime, box)
                    paths, unfilled = discover(app, page, base, known)
                    if only:
                        paths = {e: p for e, p in paths.items() if p.startswith(only)}
                    phone = Phone(browser, f"http://127.0.0.1:{hotspot.port}", codes)
                    shots = shoot(page, base, paths, out, phone, widths)
                finally:
                    browser.close()
        finally:
            hotspot.stop()
            radius.stop()
            web.close()
            runtime.close()
    index(out, shots, unfilled)
    print(f"{len(shots)} page × language in {time.monotonic() - started:.0f} s; "
          f"not filled: {unfilled}; open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
