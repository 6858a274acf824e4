"""The web app on a seeded store, through Flask's client and as a real `citynet demo`."""

from __future__ import annotations

import http.client
import logging
import os
import re
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from citynet import logs
from citynet.app import create_app
from citynet.crypto import open_box
from citynet.db import Store, set_meta
from inventory import demo
from inventory.importer import import_rows
from radius.wire import Code
from tests.conftest import make_config
from tests.support import (
    CITYNET,
    as_in_a_terminal,
    children,
    free_port,
    http_answers,
    staff_login,
    status_server,
    wait_until,
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    box = open_box(config, store, create=True)
    with store.session() as session:
        assert import_rows(session, demo.raw_rows(), box).ok
        set_meta(session, demo.DEMO_MARK, "Luohu demo district")
    try:
        yield staff_login(create_app(store, test_config={"TESTING": True}), store)
    finally:
        store.close()


def test_overview_lists_every_street_with_counts(client: FlaskClient) -> None:
    page = client.get("/inventory/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for street in demo.generate()["streets"]:
        assert f">{street['name']}</a>" in html
    assert "社区 <b>83</b>" in html
    assert "演示数据" in html  # demo data is labelled wherever it is shown


@pytest.mark.parametrize(("lang", "shown", "not_shown"), [
    ("en", ["Communities <b>83</b>", "Demo data", "Streets at a glance"], ["社区", "演示"]),
    ("zh-Hant", ["社區 <b>83</b>", "示範數據", "街道概覽", "網絡裝置"], ["Communities"]),
    ("zh-CN", ["社区 <b>83</b>", "演示数据", "网络设备"], ["社區", "Communities"]),
])
def test_the_inventory_pages_follow_the_language_chosen(
        client: FlaskClient, lang: str, shown: list[str], not_shown: list[str]) -> None:
    """?lang= picks one of the three languages for the session: the overview, a street
    and the editor's list speak it; the picker offers the other two."""
    html = client.get("/inventory/", query_string={"lang": lang}).get_data(as_text=True)
    assert [text for text in shown if text not in html] == []
    assert [text for text in not_shown if text in html] == []
    assert f'<html lang="{lang}">' in html
    offered = {"zh-CN", "zh-Hant", "en"} - {lang}
    assert all(f'hreflang="{code}"' in html for code in offered)
    assert f'hreflang="{lang}"' not in html
    street = client.get("/inventory/streets/笋岗").get_data(as_text=True)  # the session's
    assert {"en": "笋岗 street", "zh-Hant": "8 個社區",
            "zh-CN": "8 个社区"}[lang] in street
    listed = client.get("/admin/inventory/buildings").get_data(as_text=True)
    assert {"en": "Buildings", "zh-Hant": "樓宇", "zh-CN": "楼宇"}[lang] in listed


def test_home_redirects_and_health(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == "/admin/"
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_street_drill_down_and_unknown_street(client: FlaskClient) -> None:
    page = client.get("/inventory/streets/笋岗").get_data(as_text=True)
    assert "湖景社区" in page and "8 个社区" in page
    assert client.get("/inventory/streets/无此街道").status_code == 404


def test_hotspots_with_their_nas_and_the_dhcp_114_uri(client: FlaskClient) -> None:
    generated = demo.generate()
    total = len(generated["hotspots"])
    # English: the pages follow the session's language from here on
    page = client.get("/inventory/hotspots?lang=en").get_data(as_text=True)
    assert page.count("<tr><td>") == 50 and f"rows 1–50 of {total}" in page
    assert "http://localhost/portal/api/captive" in page  # what DHCP option 114 carries
    pages = [page]
    while 'rel="next"' in pages[-1]:  # the page links walk every hotspot once
        following = re.search(r'href="([^"]+)" rel="next"', pages[-1])
        assert following is not None
        pages.append(client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert len(pages) == -(-total // 50)
    assert sum(p.count("<tr><td>") for p in pages) == total
    assert f"rows {total - total % 50 + 1}–{total} of {total}" in pages[-1]
    served = generated["nas"][0]["hotspots"][0]
    row = next(r for p in pages for r in p.split("<tr>") if f"<td>{served}<br>" in r)
    assert demo.DEMO_NAS in row
    last = client.get("/inventory/hotspots", query_string={"page": "999"})  # past the end
    assert last.status_code == 200 and f"of {total}" in last.get_data(as_text=True)
    assert client.get("/inventory/hotspots", query_string={"page": "x"}).status_code == 400
    community = generated["hotspots"][0]["community"]
    one = client.get("/inventory/hotspots", query_string={"community": community})
    names = {h["name"] for h in generated["hotspots"] if h["community"] == community}
    assert one.get_data(as_text=True).count("<tr><td>") == len(names)


def test_summary_json_matches_the_inventory(client: FlaskClient) -> None:
    summary = client.get("/inventory/summary.json").get_json()
    assert summary["counts"]["communities"] == 83
    assert sum(s["communities"] for s in summary["streets"]) == 83
    assert sum(s["buildings"] for s in summary["streets"]) == summary["counts"]["buildings"]
    for street in summary["streets"]:
        assert street["fiber_coverage"] == pytest.approx(
            100 * street["connected"] / street["eligible"])


def test_security_headers_and_escaping(client: FlaskClient) -> None:
    page = client.get("/inventory/streets/<script>alert(1)</script>")
    assert page.status_code == 404
    assert "<script>alert(1)" not in page.get_data(as_text=True)
    headers = client.get("/inventory/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.slow
@pytest.mark.parametrize(("proxies", "forwarded_for", "status"), [
    (1, "203.0.113.9", 404),  # behind nginx: the client's address, not nginx's loopback
    (1, "127.0.0.1", 200),
    (0, "203.0.113.9", 200),  # no proxy in front: the header is anyone's to write
])
def test_behind_a_proxy_the_client_is_who_it_forwarded(
        sqlite_store: Store, tmp_path: Path, proxies: int, forwarded_for: str,
        status: int) -> None:
    """deploy/nginx sets X-Forwarded-For; with web.proxies = 1 the app sees the phone's
    address (the AC's redirect names it, the audit log and /metrics check it)."""
    config = make_config(tmp_path, web={"proxies": proxies})
    client = create_app(sqlite_store, config, test_config={"TESTING": True}).test_client()
    answer = client.get("/metrics", headers={"X-Forwarded-For": forwarded_for},
                        environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.status_code == status


def test_citynet_demo_serves_the_district_and_radius_and_stops_cleanly(tmp_path: Path) -> None:
    port, hotspot = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")},
           "CITYNET_DATA_DIR": str(tmp_path / "var"), "CITYNET_WEB__PORT": str(port),
           "CITYNET_RADIUS__AUTH_PORT": "0", "CITYNET_RADIUS__ACCT_PORT": "0",
           "CITYNET_DEMO__HOTSPOT_PORT": str(hotspot)}  # every port of the demo moved
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        process = subprocess.Popen(as_in_a_terminal([CITYNET, "demo"]), env=env,
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: http_answers(f"http://127.0.0.1:{port}/healthz"), "citynet demo",
                   process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/inventory/") as response:
            html = response.read().decode()
        assert response.url.startswith(f"http://127.0.0.1:{port}/login?next=")  # staff only
        assert "<h1>登录</h1>" in html  # Chinese first
        radius_line = re.search(r"RADIUS on 127\.0\.0\.1 auth (\d+)/udp", log.read_text())
        assert radius_line is not None, log.read_text()
        reply = status_server(int(radius_line.group(1)), demo.DEMO_NAS_SECRET.encode(),
                              attempts=20)
        assert reply is not None and reply[0] == Code.ACCESS_ACCEPT
        gateway = http.client.HTTPConnection("127.0.0.1", hotspot, timeout=10)
        gateway.request("GET", "/")
        redirect = gateway.getresponse()  # the simulator sends a browser to the portal
        assert redirect.status == 302
        assert redirect.getheader("Location", "").startswith(
            f"http://127.0.0.1:{port}/portal/?res=notyet&uamip=127.0.0.1&uamport={hotspot}&")
        gateway.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # say where it waits: every thread's stack
            for pid in [process.pid, *children(process.pid)]:
                os.kill(pid, signal.SIGUSR1)
            wait_until(lambda: "Thread 0x" in log.read_text(), "the stacks", timeout=10)
            pytest.fail(f"the demo did not stop within 30 s:\n{log.read_text()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = log.read_text()
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/inventory/" in output
    assert "demo-hotspot-gw" in output
    assert f"captive portal      http://127.0.0.1:{hotspot}/" in output
    assert output.rstrip().endswith("citynet stopped")



def test_store_down_is_503_and_one_log_line_per_cause(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A failover seen from the web: every request 503 with Retry-After, in both
    languages; the log has one line for the cause, not a traceback per request."""
    monkeypatch.setattr(logs, "STORE_FAILURES", logs.Throttle(60, lambda: 0.0))
    store: Store = client.application.extensions["citynet.store"]

    @contextmanager
    def down() -> Iterator[None]:
        raise OperationalError("SELECT 1", None, Exception("connection failed: refused\n"
                                                           "Multiple connection attempts"))
        yield

    monkeypatch.setattr(store, "session", down)
    with caplog.at_level(logging.ERROR):
        answers = [client.get("/healthz") for _ in range(25)]
    assert {answer.status_code for answer in answers} == {503}
    assert answers[0].headers["Retry-After"] == "10"
    assert "请稍后再试" in answers[0].text and "temporarily unavailable" in answers[0].text
    [line] = [record.getMessage() for record in caplog.records]
    assert line.startswith("the store failed: Exception: connection failed: refused (1× "
                           "since its last line: web GET /healthz not served 1×")
