"""The AC notice service beside `citynet serve`: an AC registered after start-up is
served without a restart (the port is bound at the first NAS re-read that finds it);
what it drops is counted on /metrics."""

from __future__ import annotations

from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from portal.acservice import AcNoticeService
from tests.fakes.ac import FakeAc
from tests.integration.portal.test_metrics import moved, scrape
from tests.support import wait_until

PORTAL_KEY = "ac-portal-key-456"


def test_an_ac_registered_later_is_heard_without_a_restart(sqlite_config: Config,
                                                           sqlite_store: Store) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    service = AcNoticeService(sqlite_store, box, sqlite_config, port=0, refresh=0.05)
    service.start()
    try:
        assert service.bound is None and "not yet" in service.describe()
        with FakeAc(PORTAL_KEY.encode(), name="ac-later") as ac:
            with sqlite_store.session() as session:
                assert import_rows(session, [RawRow("test", 1, KINDS["nas"], {
                    "name": "ac-later", "address": ac.address, "secret": "ac-radius-secret-123",
                    "vendor": "huawei", "portal_protocol": "huawei-v2",
                    "portal_port": ac.port, "portal_secret": PORTAL_KEY})], box).ok
            wait_until(lambda: service.bound is not None, "the notice port bound")
            ac.portal = ("127.0.0.1", service.bound)
            assert ac.kick("10.30.0.8", "idle")  # checked with the new AC's key, acked
            assert not service.drops.counts
    finally:
        service.stop()


def test_a_notice_signed_with_another_key_is_dropped_and_on_metrics(
        sqlite_config: Config, sqlite_store: Store) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    app = create_app(sqlite_store, sqlite_config, box=box, test_config={"TESTING": True})
    with FakeAc(PORTAL_KEY.encode(), name="ac-forged", sign_secret=b"not-the-key") as ac:
        with sqlite_store.session() as session:
            assert import_rows(session, [RawRow("test", 1, KINDS["nas"], {
                "name": "ac-forged", "address": ac.address, "secret": "ac-radius-secret-123",
                "vendor": "huawei", "portal_protocol": "huawei-v2", "portal_port": ac.port,
                "portal_secret": PORTAL_KEY})], box).ok
        service = AcNoticeService(sqlite_store, box, sqlite_config, port=0)
        service.start()
        try:
            before = scrape(app)
            ac.portal, ac.ntf_tries = ("127.0.0.1", service.bound), 2
            assert not ac.kick("10.30.0.8", "idle")  # never acknowledged
        finally:
            service.stop()
    after = scrape(app)
    assert moved(before, after, "citynet_portal_protocol_drops_total", side="listener",
                 reason="wrong_authenticator") == 2
    assert moved(before, after, "citynet_portal_protocol_drops_total", side="listener",
                 reason="unknown_ac") == 0
    assert ("citynet_portal_protocol_drops_total",
            (("reason", "replayed_serial"), ("side", "listener"))) in after  # shown at 0
