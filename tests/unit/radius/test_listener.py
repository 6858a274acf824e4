"""The listener's pipeline without sockets: drops, duplicates, signatures, Status-Server."""

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy.exc import OperationalError

from citynet import logs
from citynet.db import Store
from radius import codec, wire
from radius.accounting import RecordWriter
from radius.decisions import Decision, Login, LoginAttempt
from radius.listener import RadiusServer
from radius.nas import NasEntry, NasRegistry
from radius.wire import Code
from tests.support import free_port

SECRET = b"nas-secret"
NAS = NasEntry("gw", ipaddress.ip_network("10.0.0.0/24"), SECRET, "default")
AUTH = wire.AUTH_PORT_CODES


class Records:
    """Stands in for the record writer: keeps the logins it is handed, decides "ok" in
    and anyone else out."""

    def __init__(self) -> None:
        self.calls = self.rounds = 0
        self.jobs: list[Login] = []

    def run(self, jobs: list[tuple[Login, Any]]) -> None:
        self.rounds += 1
        for job, done in jobs:
            self.calls += 1
            self.jobs.append(job)
            done(Decision(job.attempt.user == "ok", {"Session-Timeout": 60}))


def server() -> tuple[RadiusServer, Records]:
    writer = Records()
    return RadiusServer(NasRegistry([NAS]), writer), writer  # type: ignore[arg-type]


def access_request(user: str = "ok", secret: bytes = SECRET, signed: bool = True,
                   identifier: int = 9) -> bytes:
    return codec.encode_request(Code.ACCESS_REQUEST, secret, {"User-Name": user},
                                password="pw", identifier=identifier,
                                message_authenticator=signed)


T = TypeVar("T")


def on_a_loop(work: Callable[[], T]) -> T:
    """``work`` on a running event loop (the listener's home), then the round it
    scheduled (one pass of the loop)."""
    async def main() -> T:
        result = work()
        await asyncio.sleep(0)
        return result

    return asyncio.run(main())


def run(srv: RadiusServer, data: bytes, source: str = "10.0.0.7") -> list[bytes]:
    """Feed one datagram as a round of its own; what the server answered (if anything)."""
    sent: list[bytes] = []

    on_a_loop(lambda: srv.receive(data, (source, 40000), AUTH, sent.append))
    return sent


def test_accept_and_reject_carry_message_authenticator_first() -> None:
    srv, _ = server()
    [accept] = run(srv, access_request("ok"))
    [reject] = run(srv, access_request("no", identifier=10))
    assert accept[0] == Code.ACCESS_ACCEPT and reject[0] == Code.ACCESS_REJECT
    assert accept[20] == wire.MESSAGE_AUTHENTICATOR and reject[20] == wire.MESSAGE_AUTHENTICATOR
    # what the listener handed the writer: each login with its NAS, profile and password
    logins = srv.writer.jobs  # type: ignore[attr-defined]
    assert [(j.attempt.user, j.attempt.password, j.nas, j.profile) for j in logins] == [
        ("ok", "pw", "gw", "default"), ("no", "pw", "gw", "default")]


@pytest.mark.parametrize(("data", "source", "counter"), [
    (access_request(), "192.0.2.1", "dropped: unknown NAS"),
    (b"\x01\x02garbage", "10.0.0.7", "dropped: malformed"),
    (access_request(signed=False), "10.0.0.7", "dropped: no Message-Authenticator"),
    (access_request(secret=b"wrong"), "10.0.0.7", "dropped: bad signature"),
], ids=["unknown-nas", "malformed", "unsigned", "wrong-secret"])  # the packets hold random bytes
def test_drops_are_silent_and_counted(data: bytes, source: str, counter: str) -> None:
    srv, writer = server()
    assert run(srv, data, source) == []
    assert srv.counters[counter] == 1
    assert writer.calls == 0
    assert len(srv.cache) == 0  # invalid packets never touch the cache


def test_a_legacy_nas_set_to_off_is_answered_without_message_authenticator() -> None:
    legacy = NasEntry("old-ac", ipaddress.ip_network("10.9.0.1/32"), SECRET, "default",
                      require_message_authenticator=False)
    srv = RadiusServer(NasRegistry([legacy]), Records())  # type: ignore[arg-type]
    [reply] = run(srv, access_request(signed=False), source="10.9.0.1")
    assert reply[0] == Code.ACCESS_ACCEPT
    assert srv.counters["unsigned (NAS set to off)"] == 1
    unsigned_status = codec.encode_request(Code.STATUS_SERVER, SECRET, {},
                                           message_authenticator=False)
    assert run(srv, unsigned_status, source="10.9.0.1") == []  # Status-Server: always signed
    assert run(srv, access_request(secret=b"wrong", identifier=3), source="10.9.0.1") == []


def test_a_retransmission_gets_the_cached_reply_without_policy() -> None:
    srv, writer = server()
    data = access_request()
    [first] = run(srv, data)
    [second] = run(srv, data)
    assert first == second
    assert writer.calls == 1 and srv.counters["duplicates"] == 1
    [other] = run(srv, data, source="10.0.0.8")  # same bytes from another host: new request
    assert writer.calls == 2 and other[0] == Code.ACCESS_ACCEPT


def test_a_login_the_store_could_not_take_gets_no_answer_and_its_retry_is_handled() -> None:
    class Failing(Records):
        def run(self, jobs: list[tuple[Login, Any]]) -> None:
            for _job, done in jobs:
                self.calls += 1
                done(OSError("disk full"))

    writer = Failing()
    srv = RadiusServer(NasRegistry([NAS]), writer)  # type: ignore[arg-type]
    data = access_request()
    assert run(srv, data) == []  # no answer rather than a wrong one: the NAS retries
    assert srv.counters["auth failed internally"] == 1 and len(srv.cache) == 0
    assert run(srv, data) == [] and writer.calls == 2  # the retry was decided again


def test_work_from_the_loop_is_done_in_one_round_once_its_callbacks_ran() -> None:
    """The rlm_rest API's calls: whatever they submit in one pass of the loop shares a
    round (one transaction), done right after it."""
    srv, writer = server()
    told: list[Any] = []

    async def main() -> None:
        for user in ("ok", "no", "ok"):
            srv.submit(Login(LoginAttempt(user), "gw"), told.append)
        assert told == []  # not in the caller's own step
        await asyncio.sleep(0)

    asyncio.run(main())
    assert [decision.accept for decision in told] == [True, False, True]
    assert writer.rounds == 1


def test_status_server_needs_a_message_authenticator() -> None:
    srv, _ = server()
    status = codec.encode_request(Code.STATUS_SERVER, SECRET, {})
    [reply] = run(srv, status)
    assert reply[0] == Code.ACCESS_ACCEPT
    unsigned = codec.encode_request(Code.STATUS_SERVER, SECRET, {}, message_authenticator=False)
    assert run(srv, unsigned) == []


def test_registry_prefers_exact_then_most_specific() -> None:
    wide = NasEntry("wide", ipaddress.ip_network("10.0.0.0/8"), b"a", "p")
    narrow = NasEntry("narrow", ipaddress.ip_network("10.1.0.0/16"), b"b", "p")
    exact = NasEntry("exact", ipaddress.ip_network("10.1.2.3/32"), b"c", "p")
    registry = NasRegistry([wide, narrow, exact])
    assert registry.lookup("10.1.2.3") is exact
    assert registry.lookup("10.1.9.9") is narrow
    assert registry.lookup("10.9.9.9") is wide
    assert registry.lookup("::ffff:10.1.2.3") is exact
    assert registry.lookup("192.0.2.1") is None
    assert registry.lookup("not-an-ip") is None
    # asked again (every datagram asks): the same answers, from the memo of known sources
    assert [registry.lookup(a) for a in ("10.1.2.3", "10.1.9.9", "10.9.9.9", "192.0.2.1")] == [
        exact, narrow, wide, None]
    for last in range(256):  # a flood of spoofed sources is not remembered
        assert registry.lookup(f"192.0.2.{last}") is None
    assert len(registry._known) == 4  # the four known spellings above, no more


REQUEST = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET, {
    "Acct-Status-Type": "Start", "Acct-Session-Id": "s1"}, message_authenticator=False)


def test_accounting_is_answered_only_after_the_write() -> None:
    class Writer:
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def run(self, jobs: list[tuple[Any, Any]]) -> None:
            for _event, done in jobs:
                done(OSError("disk full") if self.fail else True)

    def scenario(fail: bool) -> tuple[list[bytes], RadiusServer]:
        srv = RadiusServer(NasRegistry([NAS]), Writer(fail))  # type: ignore[arg-type]
        sent: list[bytes] = []

        def receive() -> None:
            srv.receive(REQUEST, ("10.0.0.7", 1), wire.ACCT_PORT_CODES, sent.append)
            assert sent == []  # not yet: the round's store work has not been done

        on_a_loop(receive)
        return sent, srv

    sent, srv = scenario(fail=False)
    assert [r[0] for r in sent] == [Code.ACCOUNTING_RESPONSE]
    assert codec.reply_from_nas(REQUEST, sent[0], SECRET, frozenset({
        Code.ACCOUNTING_RESPONSE})) == {}  # a valid Response Authenticator for our request
    sent, srv = scenario(fail=True)
    assert sent == [] and srv.counters["accounting not stored"] == 1
    assert len(srv.cache) == 0  # the NAS's retry will be processed, not ignored


def test_a_store_outage_is_one_log_line_not_one_per_request(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The real record writer on a database nothing answers for (a failover): the
    writer's batches and the listener's unanswered requests report the same cause — one
    line each, not one per request, and no request is answered."""
    clock = [0.0]
    monkeypatch.setattr(logs, "STORE_FAILURES", logs.Throttle(60, lambda: clock[0]))
    store = Store(f"postgresql://citynet@127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
                  "/citynet?connect_timeout=2")  # two closed ports: refused at once
    srv = RadiusServer(NasRegistry([NAS]), RecordWriter(store))
    sent: list[bytes] = []
    try:
        with caplog.at_level(logging.ERROR):
            for number in range(40):  # rounds of their own, a second apart
                clock[0] += 1
                request = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET, {
                    "Acct-Status-Type": "Start", "Acct-Session-Id": f"s{number}"},
                    identifier=number, message_authenticator=False)
                on_a_loop(lambda request=request: srv.receive(
                    request, ("10.0.0.7", 1), wire.ACCT_PORT_CODES, sent.append))
    finally:
        store.close()
    assert sent == [] and srv.counters["accounting not stored"] == 40
    (line,) = (record.getMessage() for record in caplog.records)  # one cause: one line
    assert line.startswith("the store failed: OperationalError: connection failed")
    assert line.endswith("(1× since its last line: batch not stored 1×; one line a minute "
                         "per cause)")



def test_after_a_short_outage_a_stored_round_tells_what_it_cost(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        sqlite_store: Store) -> None:
    """Ten seconds of failover, then the store takes the rounds again: no failure comes
    after it to carry the count held back, so the first round stored once the cause's
    minute is up tells it — what the outage cost, once, as a warning."""
    clock = [0.0]
    monkeypatch.setattr(logs, "STORE_FAILURES", logs.Throttle(60, lambda: clock[0]))
    writer = RecordWriter(sqlite_store)
    stores, down = writer._in_session, [True]

    def failing_over(jobs: list[Any]) -> Any:
        if down[0]:
            raise OperationalError("COMMIT", None, Exception("server closed the connection"))
        return stores(jobs)

    monkeypatch.setattr(writer, "_in_session", failing_over)
    srv = RadiusServer(NasRegistry([NAS]), writer)
    sent: list[bytes] = []

    def account(number: int) -> None:
        request = codec.encode_request(Code.ACCOUNTING_REQUEST, SECRET, {
            "Acct-Status-Type": "Start", "Acct-Session-Id": f"s{number}"},
            identifier=number, message_authenticator=False)
        on_a_loop(lambda: srv.receive(request, ("10.0.0.7", 1), wire.ACCT_PORT_CODES,
                                      sent.append))

    with caplog.at_level(logging.WARNING):
        for number in range(10):  # a round a second
            clock[0] += 1
            account(number)
        down[0] = False
        clock[0] += 1
        account(10)  # stored, but the cause's minute is not up: nothing to say yet
        assert len(caplog.records) == 1
        clock[0] += 60
        account(11)
        account(12)
    assert len(sent) == 3
    first, told = (record for record in caplog.records)
    assert first.levelname == "ERROR" and "(1× since its last line" in first.getMessage()
    assert told.levelname == "WARNING"
    assert told.getMessage() == (
        "the store works again; it had failed: Exception: server closed the connection "
        "(19× since its last line: accounting from gw not stored, no response sent 10×, "
        "batch not stored 9×; one line a minute per cause)")

def test_a_huawei_nas_gets_its_own_rate_attributes() -> None:
    class Rated(Records):
        def run(self, jobs: list[tuple[Login, Any]]) -> None:
            for _job, done in jobs:
                done(Decision(True, {"WISPr-Bandwidth-Max-Up": 1_000_000,
                                     "WISPr-Bandwidth-Max-Down": 4_000_000,
                                     "ChilliSpot-Max-Total-Octets": 300 << 20}))

    huawei = NasEntry("ac", ipaddress.ip_network("10.0.0.0/24"), SECRET, "default",
                      vendor="huawei")
    srv = RadiusServer(NasRegistry([huawei]), Rated())  # type: ignore[arg-type]
    request = access_request()
    [accept] = run(srv, request)
    got = codec.reply_from_nas(request, accept, SECRET, frozenset({Code.ACCESS_ACCEPT}))
    assert got["Huawei-Input-Average-Rate"] == [1_000_000]
    assert got["Huawei-Remanent-Volume"] == [300 << 10]  # the data left, in KiB, on the wire
    assert got["Huawei-Output-Average-Rate"] == [4_000_000]
    assert got["WISPr-Bandwidth-Max-Up"] == [1_000_000]


def test_each_round_counts_reach_the_metrics_and_labels_are_found_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a round counted reaches the metrics once, by event and by decision; a
    label set's child is looked up once, not once a round."""
    from prometheus_client import REGISTRY

    from radius import listener

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    looked_up: list[tuple[str, ...]] = []
    for metric in (listener.EVENTS, listener.DECISIONS):
        real = metric.labels

        def spy(*labels: str, real: Any = real) -> Any:
            looked_up.append(labels)
            return real(*labels)

        monkeypatch.setattr(metric, "labels", spy)
    before = (value("citynet_radius_events_total", event="accepted"),
              value("citynet_radius_decisions_total", answer="accept", reason=""))
    srv, _ = server()
    for identifier in (1, 2, 3):
        run(srv, access_request("ok", identifier=identifier))
    assert (value("citynet_radius_events_total", event="accepted"),
            value("citynet_radius_decisions_total", answer="accept", reason="")) == (
        before[0] + 3, before[1] + 3)
    assert sorted(looked_up) == [("accept", ""), ("accepted",), ("received",)]
