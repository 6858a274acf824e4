"""The alert engine and its rules on an upgraded store: a condition is notified once when
it starts and once when it recovers, failed deliveries are sent again, and two evaluators
at once notify once."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from citynet.config import Config
from citynet.db import Store
from inventory.choices import DeviceRole, Platform
from inventory.models import AccessPoint, Community, Hotspot, NetworkDevice, Street
from monitoring import alert_rules, alerts
from monitoring.alert_rules import (
    ap_down,
    coverage_regression,
    device_down,
    target_conditions,
    target_rule,
)
from monitoring.alerts import Condition, Delivery, Notice, Rule, check, evaluate
from monitoring.models import AlertState, KpiSample, ProbeState
from tests.conftest import make_config, upgraded

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # 18:00 in Shenzhen
AP1, AP2 = "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"
PROBES = [Rule("ap_down", ap_down), Rule("device_down", device_down)]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, monitoring={"ap_down_minutes": 10})


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    yield from upgraded(config)


def seed(store: Store) -> None:
    with store.session() as session:
        street = Street(name="笋岗")
        community = Community(name="笋岗社区", street=street)
        hotspot = Hotspot(name="笋岗公园", community=community)
        session.add_all([AccessPoint(mac=AP1, name="笋岗-01", hotspot=hotspot),
                         AccessPoint(mac=AP2, hotspot=hotspot),
                         NetworkDevice(hostname="core-1", host="10.0.0.1", site="罗湖机房",
                                       platform=Platform.HUAWEI, role=DeviceRole.ROUTER)])


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store)
    return store


def probe(store: Store, target: str, up: bool, since: datetime) -> None:
    with store.session() as session:
        session.merge(ProbeState(target=target, up=up, since=since, checked_at=since))


def states(store: Store) -> dict[str, AlertState]:
    with store.session() as session:
        return {row.key: row for row in session.scalars(select(AlertState))}


def run(store: Store, config: Config, at: datetime,
        rules: Sequence[Rule] = PROBES) -> list[Notice]:
    return evaluate(store, config, at, rules)


# --- the engine: once when firing, quiet while firing, once when resolved ---------------

def test_down_ap_fires_once_and_resolves_with_how_long_it_lasted(seeded: Store,
                                                                  config: Config) -> None:
    probe(seeded, f"ap:{AP1}", False, T0)
    assert run(seeded, config, T0 + timedelta(minutes=9, seconds=59)) == []
    [fired] = run(seeded, config, T0 + timedelta(minutes=10))
    assert (fired.rule, fired.subject, fired.state, fired.severity) == (
        "ap_down", f"ap:{AP1}", "firing", "warning")
    assert fired.since == T0 and fired.at == T0 + timedelta(minutes=10)
    assert fired.detail == f"AP 笋岗-01 ({AP1}) at 笋岗公园 down since 2024-05-01 18:00 +08:00"
    assert run(seeded, config, T0 + timedelta(minutes=11)) == []
    assert run(seeded, config, T0 + timedelta(hours=5)) == []  # no reminders
    assert states(seeded)[f"ap_down:ap:{AP1}"].firing

    probe(seeded, f"ap:{AP1}", True, T0 + timedelta(minutes=25))
    [resolved] = run(seeded, config, T0 + timedelta(minutes=30))
    assert resolved.state == "resolved" and resolved.since == T0
    assert resolved.lasted == timedelta(minutes=25)  # until it answered, not until we looked
    assert resolved.detail == (f"AP 笋岗-01 ({AP1}) at 笋岗公园 up since 2024-05-01 18:25 +08:00"
                               " (resolved after 25 min)")
    assert run(seeded, config, T0 + timedelta(minutes=31)) == []
    assert not states(seeded)[f"ap_down:ap:{AP1}"].firing


def test_a_new_outage_after_recovery_fires_again(seeded: Store, config: Config) -> None:
    probe(seeded, f"ap:{AP2}", False, T0)
    assert [n.state for n in run(seeded, config, T0 + timedelta(minutes=10))] == ["firing"]
    probe(seeded, f"ap:{AP2}", True, T0 + timedelta(minutes=12))
    assert [n.state for n in run(seeded, config, T0 + timedelta(minutes=13))] == ["resolved"]
    probe(seeded, f"ap:{AP2}", False, T0 + timedelta(minutes=14))
    assert run(seeded, config, T0 + timedelta(minutes=20)) == []  # 6 min: not yet
    [again] = run(seeded, config, T0 + timedelta(minutes=24))
    assert again.state == "firing" and again.since == T0 + timedelta(minutes=14)
    assert again.detail.startswith(f"AP {AP2} at 笋岗公园 down since")  # AP without a name


def test_flapping_below_threshold_resolves_at_evaluation_time(seeded: Store,
                                                               config: Config) -> None:
    probe(seeded, f"ap:{AP1}", False, T0)
    run(seeded, config, T0 + timedelta(minutes=10))
    probe(seeded, f"ap:{AP1}", False, T0 + timedelta(minutes=13))  # was up for a moment
    [resolved] = run(seeded, config, T0 + timedelta(minutes=15))
    assert resolved.state == "resolved" and resolved.lasted == timedelta(minutes=15)


def test_a_subject_removed_from_the_inventory_is_resolved_and_forgotten(
        seeded: Store, config: Config) -> None:
    probe(seeded, f"ap:{AP1}", False, T0)
    run(seeded, config, T0 + timedelta(minutes=10))
    with seeded.session() as session:
        session.execute(delete(AccessPoint).where(AccessPoint.mac == AP1))
    [resolved] = run(seeded, config, T0 + timedelta(minutes=40))
    assert resolved.state == "resolved" and resolved.lasted == timedelta(minutes=40)
    assert "no longer watched (resolved after 40 min)" in resolved.detail
    assert states(seeded)[resolved.key].notified_at is not None
    assert run(seeded, config, T0 + timedelta(minutes=41)) == []
    assert resolved.key not in states(seeded)


def test_a_probe_of_an_ap_not_in_the_inventory_is_ignored(seeded: Store,
                                                          config: Config) -> None:
    probe(seeded, "ap:ff:ff:ff:ff:ff:ff", False, T0)
    assert run(seeded, config, T0 + timedelta(hours=1)) == []


def test_devices_are_their_own_rule_with_the_same_threshold(seeded: Store,
                                                            config: Config) -> None:
    probe(seeded, "device:core-1", False, T0)
    probe(seeded, f"ap:{AP1}", False, T0 + timedelta(minutes=5))
    [device] = run(seeded, config, T0 + timedelta(minutes=10))
    assert (device.rule, device.subject, device.severity) == (
        "device_down", "device:core-1", "critical")
    assert device.detail == "device core-1 at 罗湖机房 down since 2024-05-01 18:00 +08:00"
    [ap] = run(seeded, config, T0 + timedelta(minutes=15))
    assert ap.rule == "ap_down"


@pytest.mark.parametrize(("minutes", "threshold", "firing"), [
    (10, 10, True), (9.99, 10, False), (0.5, 0.5, True), (120, 180, False)])
def test_ap_down_threshold_is_inclusive(seeded: Store, tmp_path: Path, minutes: float,
                                        threshold: float, firing: bool) -> None:
    config = make_config(tmp_path, monitoring={"ap_down_minutes": threshold})
    probe(seeded, f"ap:{AP1}", False, T0)
    with seeded.session() as session:
        [condition] = ap_down(session, T0 + timedelta(minutes=minutes), config)
    assert condition.firing is firing


def test_times_are_shown_in_the_district_time_zone(seeded: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path, radius={"timezone": "Europe/Berlin"})
    probe(seeded, f"ap:{AP1}", False, T0)
    with seeded.session() as session:
        [condition] = ap_down(session, T0 + timedelta(hours=1), config)
    assert condition.detail.endswith("down since 2024-05-01 12:00 +02:00")


def test_a_failing_rule_does_not_stop_the_others_nor_resolve_its_alerts(
        seeded: Store, config: Config) -> None:
    probe(seeded, f"ap:{AP1}", False, T0)
    run(seeded, config, T0 + timedelta(minutes=10))

    def broken(session: Session, now: datetime, config: Config) -> list[Condition]:
        raise RuntimeError("inventory unreachable")

    probe(seeded, "device:core-1", False, T0)
    notices = run(seeded, config, T0 + timedelta(minutes=20),
                  [Rule("ap_down", broken), Rule("device_down", device_down)])
    assert [n.key for n in notices] == ["device_down:device:core-1"]
    assert states(seeded)[f"ap_down:ap:{AP1}"].firing


def test_a_rule_naming_another_rule_counts_as_failed(seeded: Store, config: Config) -> None:
    def stray(session: Session, now: datetime, config: Config) -> list[Condition]:
        return [Condition("device_down", "device:core-1", True, "x")]

    assert run(seeded, config, T0, [Rule("ap_down", stray)]) == []
    assert states(seeded) == {}


def test_dry_run_reports_and_remembers_nothing(seeded: Store, config: Config) -> None:
    probe(seeded, f"ap:{AP1}", False, T0)
    at = T0 + timedelta(minutes=10)
    assert len(evaluate(seeded, config, at, PROBES, dry_run=True)) == 1
    assert states(seeded) == {}
    assert len(run(seeded, config, at)) == 1


# --- delivery: released when no channel took it, sent again next time -------------------

class Channels:
    """A stand-in for notify.deliver: one channel that works or not, as told."""

    def __init__(self) -> None:
        self.working: bool | None = True  # None: no channel configured
        self.sent: list[Notice] = []

    def __call__(self, notices: Sequence[Notice], config: Config) -> list[Delivery]:
        if self.working is None:
            return []
        self.sent += notices
        return [Delivery(n, "webhook", "http://hooks", "" if self.working else "HTTP 503")
                for n in notices]


def test_a_notice_no_channel_took_is_sent_again_then_not_again(seeded: Store,
                                                                config: Config) -> None:
    channels = Channels()
    probe(seeded, f"ap:{AP1}", False, T0)
    channels.working = False
    first = check(seeded, config, T0 + timedelta(minutes=10), PROBES, channels)
    assert [n.state for n in first.undelivered] == ["firing"]
    assert states(seeded)[f"ap_down:ap:{AP1}"].notified_at is None
    channels.working = True
    second = check(seeded, config, T0 + timedelta(minutes=11), PROBES, channels)
    [retried] = second.notices
    assert retried.state == "firing" and retried.since == T0 and second.undelivered == []
    assert check(seeded, config, T0 + timedelta(minutes=12), PROBES, channels).notices == []
    assert [n.state for n in channels.sent] == ["firing", "firing"]


def test_a_resolved_notice_is_sent_again_with_its_duration(seeded: Store,
                                                           config: Config) -> None:
    channels = Channels()
    probe(seeded, f"ap:{AP1}", False, T0)
    check(seeded, config, T0 + timedelta(minutes=10), PROBES, channels)
    probe(seeded, f"ap:{AP1}", True, T0 + timedelta(minutes=70))
    channels.working = False
    assert check(seeded, config, T0 + timedelta(minutes=71), PROBES, channels).undelivered
    channels.working = True
    [again] = check(seeded, config, T0 + timedelta(minutes=80), PROBES, channels).notices
    assert again.state == "resolved" and again.detail.endswith("(resolved after 1 h 10 min)")
    assert check(seeded, config, T0 + timedelta(minutes=90), PROBES, channels).notices == []


def test_with_no_channel_nothing_is_owed(seeded: Store, config: Config) -> None:
    channels = Channels()
    channels.working = None
    probe(seeded, f"ap:{AP1}", False, T0)
    assert check(seeded, config, T0 + timedelta(minutes=10), PROBES, channels).notices
    assert check(seeded, config, T0 + timedelta(minutes=11), PROBES, channels).notices == []


def test_release_leaves_an_alert_a_later_evaluation_moved_on(seeded: Store,
                                                             config: Config) -> None:
    probe(seeded, f"ap:{AP1}", False, T0)
    [fired] = run(seeded, config, T0 + timedelta(minutes=10))
    probe(seeded, f"ap:{AP1}", True, T0 + timedelta(minutes=11))
    [resolved] = run(seeded, config, T0 + timedelta(minutes=12))
    assert alerts.release(seeded, [fired]) == 0  # too late: it has recovered since
    assert alerts.release(seeded, [resolved]) == 1


@pytest.fixture
def any_store(backend_config: Config) -> Iterator[Store]:
    """A seeded store on SQLite and on PostgreSQL (the lock differs)."""
    for store in upgraded(backend_config):
        seed(store)
        yield store


def test_two_evaluators_at_once_notify_once(any_store: Store, backend_config: Config) -> None:
    """A second evaluator runs whole while the first is inside its rules: it is not kept
    waiting for them (on SQLite the alerts lock is the write lock RADIUS needs), and the
    first, whose observations are then the older, changes nothing: one notice."""
    seeded, config = any_store, backend_config
    probe(seeded, f"ap:{AP1}", False, T0)
    at = T0 + timedelta(minutes=10)
    outcome: dict[str, object] = {}

    def second_evaluator() -> None:
        try:
            outcome["second"] = evaluate(seeded, config, at, PROBES)
        except Exception as exc:
            outcome["second"] = exc

    second = threading.Thread(target=second_evaluator, name="second")

    def slow_ap_down(session: Session, now: datetime, config: Config) -> list[Condition]:
        found = ap_down(session, now, config)
        second.start()
        second.join(timeout=30)  # with the lock held over the rules: never in time
        outcome["second_done"] = not second.is_alive()
        return found

    first = evaluate(seeded, config, at, [Rule("ap_down", slow_ap_down)])
    second.join(timeout=60)
    assert outcome["second_done"] is True
    notices = outcome["second"]
    assert isinstance(notices, list) and [n.key for n in notices] == [f"ap_down:ap:{AP1}"]
    assert first == []
    assert states(seeded)[f"ap_down:ap:{AP1}"].firing


def test_an_evaluation_older_than_one_applied_meanwhile_changes_nothing(
        seeded: Store, config: Config) -> None:
    """The first evaluator saw the AP down; while its rules ran the AP came back and
    another evaluation resolved the alert. Applying the older view would fire it anew."""
    probe(seeded, f"ap:{AP1}", False, T0)
    assert [n.state for n in run(seeded, config, T0 + timedelta(minutes=10))] == ["firing"]
    at = T0 + timedelta(minutes=20)
    later: list[Notice] = []

    def overtaken_ap_down(session: Session, now: datetime, config: Config) -> list[Condition]:
        found = ap_down(session, now, config)
        probe(seeded, f"ap:{AP1}", True, T0 + timedelta(minutes=15))
        later.extend(run(seeded, config, at))
        return found

    assert evaluate(seeded, config, at, [Rule("ap_down", overtaken_ap_down)]) == []
    assert [n.state for n in later] == ["resolved"]
    assert not states(seeded)[f"ap_down:ap:{AP1}"].firing


# --- coverage regression ---------------------------------------------------------------

def kpi(store: Store, day: date, value: float | None, metric: str = "fiber_coverage_eligible",
        scope: str = "street:笋岗") -> None:
    with store.session() as session:
        session.add(KpiSample(metric=metric, scope=scope, day=day, value=value,
                              computed_at=T0))


def regressions(store: Store, config: Config) -> list[Condition]:
    with store.session() as session:
        return coverage_regression(session, T0, config)


@pytest.mark.parametrize(("before", "after", "firing"), [
    (90.0, 89.5, False),  # exactly 0.5 points: not "more than"
    (90.0, 89.49, True),
    (90.3, 89.8, False),  # 0.5000000000000028 in floats
    (90.0, 95.0, False),
    (100.0, 0.0, True)])
def test_coverage_regression_threshold(store: Store, config: Config, before: float,
                                       after: float, firing: bool) -> None:
    kpi(store, date(2024, 5, 1), before)
    kpi(store, date(2024, 5, 2), after)
    [condition] = regressions(store, config)
    assert condition.firing is firing
    assert condition.subject == "fiber_coverage_eligible@street:笋岗"


def test_coverage_regression_compares_the_latest_two_samples_per_series(
        store: Store, config: Config) -> None:
    for day, value in [(1, 95.0), (2, 90.0), (3, 90.0)]:
        kpi(store, date(2024, 5, day), value)
    district: list[tuple[int, float | None]] = [(1, 60.0), (3, 58.0), (4, None)]
    for day, measured in district:  # a gap, and a day with nothing to measure
        kpi(store, date(2024, 5, day), measured, scope="district")
    kpi(store, date(2024, 5, 1), 30.0, metric="login_success_rate")  # one sample only
    found = {c.subject: c for c in regressions(store, config)}
    assert set(found) == {"fiber_coverage_eligible@street:笋岗",
                          "fiber_coverage_eligible@district"}
    assert not found["fiber_coverage_eligible@street:笋岗"].firing
    fell = found["fiber_coverage_eligible@district"]
    assert fell.firing
    assert fell.detail == ("fiber_coverage_eligible of district fell from 60.0 on "
                               "2024-05-01 to 58.0 on 2024-05-03")


def test_coverage_regression_resolves_with_a_day_that_does_not_drop(
        store: Store, config: Config) -> None:
    rules = [Rule("coverage_regression", coverage_regression)]
    kpi(store, date(2024, 5, 1), 91.0)
    kpi(store, date(2024, 5, 2), 90.0)
    assert [n.state for n in run(store, config, T0, rules)] == ["firing"]
    assert run(store, config, T0 + timedelta(hours=1), rules) == []
    kpi(store, date(2024, 5, 3), 90.0)
    [resolved] = run(store, config, T0 + timedelta(days=1), rules)
    assert resolved.state == "resolved" and resolved.lasted == timedelta(days=1)


# --- targets at risk (the targets module supplies the statuses) --------------------------

@dataclass(frozen=True)
class Forecast:
    value: float


@dataclass(frozen=True)
class Status:
    metric: str
    scope: str
    status: str
    forecast: Forecast | None
    target: float
    deadline: date


@pytest.mark.parametrize(("status", "firing", "severity"), [
    ("met", False, "warning"), ("on_track", False, "warning"),
    ("at_risk", True, "warning"), ("missed", True, "critical")])
def test_target_status_to_condition(status: str, firing: bool, severity: str) -> None:
    [condition] = target_conditions([Status("fiber_coverage_eligible", "district", status,
                                            Forecast(84.04), 90.0, date(2015, 12, 31))])
    assert (condition.firing, condition.severity) == (firing, severity)
    assert condition.key == "target_at_risk:fiber_coverage_eligible@district"
    if status == "at_risk":
        assert condition.detail == ("fiber_coverage_eligible of district at risk: target 90 "
                                    "by 2015-12-31, forecast 84.0 at the deadline")


def test_a_details_english_is_kept_and_said_in_the_readers_language(
        seeded: Store, config: Config) -> None:
    """A detail is English as text (the webhook, the e-mail, ``--json``) and said in the
    reader's language; the store keeps its msgid, so a remembered one is said too."""
    from citynet import catalogs
    from citynet.domains import registered

    probe(seeded, f"ap:{AP1}", False, T0)
    [fired] = run(seeded, config, T0 + timedelta(minutes=10))
    probe(seeded, f"ap:{AP1}", True, T0 + timedelta(minutes=25))
    [resolved] = run(seeded, config, T0 + timedelta(hours=2, minutes=30))
    remembered = alerts.stored_detail(states(seeded)[f"ap_down:ap:{AP1}"])
    [at_risk] = target_conditions([Status("fiber_coverage_eligible", "district", "at_risk",
                                          Forecast(84.04), 90.0, date(2015, 12, 31))])
    with catalogs.speaking("zh-Hant", registered()):
        assert catalogs.said(fired.detail) == (
            f"笋岗公园 的 AP 笋岗-01（{AP1}） 自 2024-05-01 18:00 +08:00 起離線")
        assert catalogs.said(resolved.detail) == catalogs.said(remembered) == (
            f"笋岗公园 的 AP 笋岗-01（{AP1}） 自 2024-05-01 18:25 +08:00 起在線"
            "（25 分鐘後恢復）")
        assert catalogs.said(alerts.duration_text(timedelta(days=2, hours=3))) == (
            "2 日 3 小時")
        assert catalogs.said(at_risk.detail) == (
            "district 的 fiber_coverage_eligible 有風險：目標 90，限期 2015-12-31，"
            "預計到期時為 84.0")
    assert remembered == resolved.detail == (
        f"AP 笋岗-01 ({AP1}) at 笋岗公园 up since 2024-05-01 18:25 +08:00"
        " (resolved after 25 min)")


def test_target_rule_asks_for_the_districts_today_and_resolves(store: Store,
                                                               config: Config) -> None:
    asked: list[date] = []
    answer = [Status("public_area_wifi_coverage", "street:笋岗", "at_risk", None, 95.0,
                     date(2015, 12, 31))]

    def source(session: Session, today: date) -> list[Status]:
        asked.append(today)
        return answer

    rules = [target_rule(source)]
    late = datetime(2024, 5, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 May in Shenzhen
    [fired] = run(store, config, late, rules)
    assert asked == [date(2024, 5, 2)] and fired.rule == "target_at_risk"
    answer = [Status("public_area_wifi_coverage", "street:笋岗", "on_track", None, 95.0,
                     date(2015, 12, 31))]
    [resolved] = run(store, config, late + timedelta(days=2), rules)
    assert resolved.state == "resolved"


def test_default_rules_include_targets_at_risk(store: Store, config: Config) -> None:
    names = [rule.name for rule in alert_rules.default_rules()]
    assert names == ["ap_down", "device_down", "coverage_regression", "target_at_risk"]
    with store.session() as session:  # the real source: no targets here, nothing to say
        assert alert_rules.default_rules()[-1].check(session, T0, config) == []
    asked: list[date] = []
    custom = alert_rules.default_rules(lambda session, today: asked.append(today) or [])
    with store.session() as session:
        assert custom[-1].check(session, T0, config) == [] and len(asked) == 1


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=59), "0 min"), (timedelta(minutes=61), "1 h 1 min"),
    (timedelta(days=2, hours=3, minutes=4), "2 d 3 h")])
def test_duration_text(delta: timedelta, text: str) -> None:
    assert alerts.duration_text(delta) == text


def test_a_channels_answer_is_said_in_the_commands_language(seeded: Store,
                                                             config: Config) -> None:
    from citynet import catalogs
    from citynet.domains import registered
    from monitoring.cli import NOTICE_STATES, delivered

    probe(seeded, f"ap:{AP1}", False, T0)
    [fired] = run(seeded, config, T0 + timedelta(minutes=10))
    sent, refused = Delivery(fired, "webhook", "https://noc"), Delivery(
        fired, "email", "noc@luohu.example", error="HTTP 500")
    assert (delivered(sent), delivered(refused)) == ("ok", "FAILED: HTTP 500")
    with catalogs.speaking("zh-Hant", registered()):
        assert (delivered(sent), delivered(refused)) == ("成功", "失敗：HTTP 500")
        assert catalogs.gettext(NOTICE_STATES[fired.state]) == "觸發中"
    with catalogs.speaking("zh-CN", registered()):
        assert delivered(refused) == "失败：HTTP 500"


def test_a_cut_detail_is_remembered_in_english_only(seeded: Store, config: Config) -> None:
    from citynet.catalogs import Message

    def wordy(_session: Session, _now: datetime, _config: Config) -> list[Condition]:
        return [Condition("wordy", "x", True, Message("AP %(name)s down", name="n" * 2000))]

    run(seeded, config, T0, [Rule("wordy", wordy)])
    row = states(seeded)["wordy:x"]
    assert len(row.detail) == alerts.DETAIL_MAX and row.detail_said is None
    assert alerts.stored_detail(row) == row.detail  # the English kept, as cut
