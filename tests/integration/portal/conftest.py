"""A whole hotspot on loopback: the gateway simulator, citynet's RADIUS listener and the
portal app (Flask's client), over a real store — and a person walking through it."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from citynet.app import create_app
from citynet.config import Config, RadiusConfig
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from portal.simulator import COOKIE, Simulator
from radius.service import RadiusService

NAS_SECRET = "portal-nas-secret"
UAM_SECRET = "portal-uam-secret"
NASID = "test-hotspot"
PORTAL = "http://localhost/portal/"  # what Flask's test client answers as


@dataclass
class Hotspot:
    store: Store
    box: SecretBox
    config: Config
    radius: RadiusService
    gateway: Simulator
    app: Any

    def person(self, mac: str = "AA-BB-CC-DD-EE-01") -> Person:
        return Person(self, mac)

    @property
    def portal(self) -> Any:
        return self.app.extensions["citynet.portal"]

    def sent_sms(self) -> list[dict[str, str]]:
        """Every SMS the portal handed to its outbox gateway, newest first."""
        self.portal.sender.drain()
        return list(self.portal.outbox.recent(10_000))

    def last_code(self, phone: str = "13800138000") -> str:
        """The code in the newest SMS, which must have gone to ``phone``."""
        [latest, *_] = self.sent_sms()
        found = re.search(r"\b(\d{6})\b", latest["text"])
        assert found and latest["phone"] == phone, latest
        return found.group(1)


@dataclass
class Person:
    """One phone: a browser that talks to the gateway (real HTTP) and the portal."""

    hotspot: Hotspot
    mac: str
    browser: Any = None
    gateway_cookie: str = ""
    pages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.browser = self.hotspot.app.test_client()

    def gateway(self, path: str) -> str:
        """GET from the gateway; returns the Location it redirects to."""
        connection = http.client.HTTPConnection(self.hotspot.gateway.address,
                                                self.hotspot.gateway.port, timeout=30)
        headers = {"Cookie": f"{COOKIE}={self.gateway_cookie}"} if self.gateway_cookie else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie", "")
        if cookie.startswith(COOKIE + "="):
            self.gateway_cookie = cookie.split(";")[0].split("=", 1)[1]
        connection.close()
        assert response.status == 302, response.status
        return str(response.getheader("Location"))

    def portal(self, url: str) -> Any:
        """GET a portal URL and follow the portal's own redirects."""
        parts = urlsplit(url)
        response = self.browser.get(parts.path + ("?" + parts.query if parts.query else ""))
        while response.status_code in (301, 302, 303) and response.location.startswith("/"):
            response = self.browser.get(response.location)
        self.pages.append(response.get_data(as_text=True))
        return response

    def arrive(self, page: str = "/news", lang: str = "") -> Any:
        query = f"?sim-mac={self.mac}" + (f"&lang={lang}" if lang else "")
        return self.portal(self.gateway(page + query))

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.pages[-1])
        assert found, "no CSRF token on the page"
        return found.group(1)

    def post(self, path: str, **form: str) -> Any:
        response = self.browser.post(path, data={"csrf": self.csrf(), **form})
        self.pages.append(response.get_data(as_text=True))
        return response

    def finish(self, response: Any) -> Any:
        """After a login POST: to the gateway's /logon, and back to the portal."""
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        logon = urlsplit(response.location)
        assert logon.path == "/logon"
        return self.portal(self.gateway(logon.path + "?" + logon.query))


def add_hotspot_nas(config: Config, store: Store, uam_secret: str = UAM_SECRET) -> SecretBox:
    box = open_box(config, store, create=True)
    assert box is not None
    with store.session() as session:
        outcome = import_rows(session, [RawRow("test", 1, KINDS["nas"], {
            "name": NASID, "address": "127.0.0.1", "secret": NAS_SECRET,
            "vendor": "coovachilli", "uam_secret": uam_secret})], box)
        assert outcome.ok, outcome.problems
    return box


@pytest.fixture
def hotspot(backend_config: Config, store: Store) -> Iterator[Hotspot]:
    box = add_hotspot_nas(backend_config, store)
    radius = RadiusService(store, box, RadiusConfig(bind="127.0.0.1", auth_port=0,
                                                    acct_port=0))
    radius.start()
    gateway = Simulator(PORTAL, "127.0.0.1", radius.ports[0], radius.ports[1], NAS_SECRET,
                        NASID, UAM_SECRET)
    gateway.start()
    # every login method, app enrolment included (a deployment's choice, off by default)
    config = backend_config.model_copy(update={"portal": backend_config.portal.model_copy(
        update={"show_outbox": True, "app_enrolment": True})})
    app = create_app(store, config, box=box, test_config={"TESTING": True})
    try:
        yield Hotspot(store, box, config, radius, gateway, app)
    finally:
        gateway.stop()
        radius.stop()
