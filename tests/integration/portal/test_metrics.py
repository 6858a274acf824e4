"""/metrics after portal and RADIUS traffic: the counters moved by what happened.

Metrics are per process, and other tests of this process move them too: each test reads
them before and after, and checks the difference."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from citynet.app import create_app
from radius import vouchers
from tests.integration.portal.conftest import Hotspot
from tests.support import wait_until

Sample = tuple[str, tuple[tuple[str, str], ...]]


def scrape(app: Any, address: str = "127.0.0.1") -> dict[Sample, float]:
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.status_code
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def moved(before: dict[Sample, float], after: dict[Sample, float], name: str,
          **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_voucher_login_and_a_wrong_one_move_the_counters(hotspot: Hotspot) -> None:
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 60, 1, "t", valid_days=1)
        code = vouchers.display(voucher.code)
    before = scrape(hotspot.app)
    person = hotspot.person()
    person.arrive("/news")
    person.finish(person.post("/portal/voucher", code=code, consent="1"))
    other = hotspot.person("AA-BB-CC-DD-EE-02")
    other.arrive("/news")
    unknown = vouchers.display(vouchers.new_code())  # well-formed, never issued
    other.finish(other.post("/portal/voucher", code=unknown, consent="1"))
    after = scrape(hotspot.app)

    def exported() -> bool:
        # the RADIUS loop hands a round's counts to the metrics once the round's answers
        # are out, and the NAS's accounting comes on its own time: wait for a scrape
        # that holds both logins and whole rounds only
        nonlocal after
        after = scrape(hotspot.app)
        stored = moved(before, after, "citynet_radius_events_total", event="accounting stored")
        return (moved(before, after, "citynet_radius_events_total", event="rejected") == 1
                and moved(before, after, "citynet_radius_round_jobs_sum") == 2 + stored)

    wait_until(exported, "the logins' rounds in /metrics", timeout=30)

    assert moved(before, after, "citynet_portal_logins_total", method="voucher") == 2
    assert moved(before, after, "citynet_radius_decisions_total", answer="accept",
                 reason="voucher") == 1
    assert moved(before, after, "citynet_radius_decisions_total", answer="reject",
                 reason="unknown voucher") == 1
    assert moved(before, after, "citynet_radius_events_total", event="accepted") == 1
    assert moved(before, after, "citynet_radius_events_total", event="rejected") == 1
    # every job of every round: the two logins and whatever accounting the NAS sent
    stored = moved(before, after, "citynet_radius_events_total", event="accounting stored")
    assert moved(before, after, "citynet_radius_round_jobs_sum") == 2 + stored
    assert moved(before, after, "citynet_radius_round_seconds_count") == moved(
        before, after, "citynet_radius_round_jobs_count") >= 1
    # the portal's answers: two login POSTs redirected to the NAS's /logon
    assert moved(before, after, "citynet_http_requests_total", part="portal",
                 status="3xx") >= 2


def test_metrics_are_for_the_allowed_addresses_only(hotspot: Hotspot) -> None:
    assert hotspot.app.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    config = hotspot.config.model_copy(update={"metrics": hotspot.config.metrics.model_copy(
        update={"allow": ["10.9.0.0/16"]})})
    app = create_app(hotspot.store, config, box=hotspot.box, test_config={"TESTING": True})
    assert app.test_client().get("/metrics").status_code == 404  # loopback not listed
    assert "citynet_leader" in app.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": "10.9.1.2"}).get_data(as_text=True)
