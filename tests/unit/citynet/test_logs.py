"""The log throttle: a flood of one failure is one line per cause a minute, with a count."""

import logging

import pytest
from sqlalchemy.exc import OperationalError

from citynet.logs import Throttle, cause_of, store_failed

# what psycopg says when no host of a multi-host URL takes the connection: a block per host
MULTI_HOST = ('connection failed: connection to server at "10.0.0.1", port 5432 failed: '
              'Connection refused\n\tIs the server running on that host?\nMultiple '
              "connection attempts failed. All failures were:\n- host: '10.0.0.1' ...\n"
              "- host: '10.0.0.2' ...")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outage(message: str = MULTI_HOST) -> OperationalError:
    return OperationalError("INSERT INTO radius_accounting ...", None, Exception(message))


def test_throttle_counts_what_it_did_not_log() -> None:
    clock = Clock()
    throttle = Throttle(60, clock)
    assert throttle.due("a") == 1  # the first one is logged at once
    for _ in range(9):
        clock.now += 5
        assert throttle.due("a") == 0
    assert throttle.due("b") == 1  # another key has its own minute
    clock.now += 15.1  # a minute after the last line about "a"
    assert throttle.due("a") == 10  # the nine held back, and this one


def test_a_failover_is_one_line_per_cause_a_minute_with_the_count(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttle = Throttle(60, clock)
    log = logging.getLogger("citynet.test")
    with caplog.at_level(logging.ERROR):
        for _second in range(59):  # a minute of failover: 100 requests a second, two causes
            clock.now += 1
            for _ in range(50):
                store_failed(log, "accounting from gw not stored", outage(), throttle)
                store_failed(log, "batch of 400 not stored",
                             outage("the database system is shutting down"), throttle)
        assert len(caplog.records) == 2
        clock.now += 2
        store_failed(log, "accounting from gw not stored", outage(), throttle)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert lines[0] == ('the store failed: Exception: connection failed: connection to '
                        'server at "10.0.0.1", port 5432 failed: Connection refused (1× '
                        "since its last line: accounting from gw not stored 1×; one line a "
                        "minute per cause)")
    assert "shutting down (1× since its last line: batch of 400 not stored 1×" in lines[1]
    assert ("(2950× since its last line: accounting from gw not stored 2950×; one line a "
            "minute per cause)" in lines[2])
    assert all("\n" not in line for line in lines)


def test_cause_is_the_drivers_first_line_without_the_statement() -> None:
    assert cause_of(outage()) == ('Exception: connection failed: connection to server at '
                                  '"10.0.0.1", port 5432 failed: Connection refused')
    assert cause_of(TimeoutError()) == "TimeoutError"
    assert len(cause_of(OSError("x" * 5000))) < 320


def test_every_failure_with_one_cause_shares_its_line(
        caplog: pytest.LogCaptureFixture) -> None:
    """A failover makes every layer fail for the one reason: one line a minute says what
    failed how often, not a line per layer (the writer, the listener, the NAS registry)."""
    clock = Clock()
    throttle = Throttle(60, clock)
    log = logging.getLogger("citynet.test")
    with caplog.at_level(logging.ERROR):
        store_failed(log, "accounting from gw not stored", outage(), throttle)
        for _ in range(3):
            clock.now += 1
            store_failed(log, "NAS registry not refreshed", outage(), throttle)
            store_failed(log, "batch not stored", outage(), throttle)
        store_failed(log, "batch not stored", outage(), throttle)
        assert len(caplog.records) == 1
        clock.now += 60
        store_failed(log, "accounting from gw not stored", outage(), throttle)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[1].endswith("(8× since its last line: batch not stored 4×, NAS registry "
                             "not refreshed 3×, accounting from gw not stored 1×; one line "
                             "a minute per cause)")


def test_keys_not_seen_for_longer_than_the_interval_are_forgotten() -> None:
    clock = Clock()
    throttle = Throttle(60, clock)
    for n in range(1000):  # e.g. a failure naming the request's path
        assert throttle.due(f"/path/{n}") == 1
    assert throttle.remembered == 1000
    assert throttle.due("steady") == 1
    clock.now += 30
    assert throttle.due("steady") == 0
    clock.now += 31  # the paths and "steady"'s line were 61 s ago; "steady" seen 31 s ago
    assert throttle.due("steady") == 2  # its minute is up: the held-back one and this
    assert throttle.remembered == 1
    assert throttle.due("/path/1") == 1  # forgotten, so logged at once again


def test_an_outage_shorter_than_a_minute_has_its_count_told_once_the_store_works(
        caplog: pytest.LogCaptureFixture) -> None:
    """A 10-s failover: its first failure is told at once, the rest held back; nothing
    fails again after it, so no later failure would carry their count — a write the
    store takes does, once the cause's minute is up, and only then (a line a minute)."""
    from citynet.logs import store_works

    clock = Clock()
    throttle = Throttle(60, clock)
    log = logging.getLogger("citynet.test")
    with caplog.at_level(logging.WARNING):
        for _second in range(10):
            clock.now += 1
            for _ in range(30):
                store_failed(log, "batch not stored", outage(), throttle)
            store_failed(log, "NAS registry not refreshed", outage(), throttle)
        clock.now += 1
        store_works(log, throttle)  # the store is back, but the cause's minute is not up
        assert len(caplog.records) == 1
        clock.now += 49  # a minute after the first line
        store_works(log, throttle)
        store_works(log, throttle)  # told once
        clock.now += 120
        store_works(log, throttle)
    lines = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert len(lines) == 2
    assert lines[1] == ("WARNING", 'the store works again; it had failed: Exception: '
                        'connection failed: connection to server at "10.0.0.1", port 5432 '
                        "failed: Connection refused (309× since its last line: batch not "
                        "stored 299×, NAS registry not refreshed 10×; one line a minute per "
                        "cause)")


def test_failures_among_successes_stay_at_a_line_a_minute(
        caplog: pytest.LogCaptureFixture) -> None:
    """A flapping store (a failure, then a success, every second): whichever comes first
    once the cause's minute is up tells the count, and starts its next minute."""
    from citynet.logs import store_works

    clock = Clock()
    throttle = Throttle(60, clock)
    log = logging.getLogger("citynet.test")
    with caplog.at_level(logging.WARNING):
        for _second in range(180):
            clock.now += 1
            store_failed(log, "batch not stored", outage(), throttle)
            store_works(log, throttle)
    assert len(caplog.records) == 3  # 180 s: a line a minute
    assert all("(60× since its last line" in record.getMessage()
               for record in caplog.records[1:])

def test_json_logs_are_one_object_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from citynet.logs import configure

    configure("INFO", "json")
    try:
        logging.getLogger("radius.listener").warning("NAS %s: %d drops", "gw-东门", 3)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("citynet").exception("failed")
    finally:
        configure("INFO")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines()[-2:])
    assert {k: first[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING", "logger": "radius.listener", "message": "NAS gw-东门: 3 drops"}
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError: boom" in second["traceback"]


def test_with_json_logs_the_serves_own_lines_are_json_too(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`citynet serve`'s lines on standard output (what runs where, that it stopped) go to
    the journal beside the log: with logging.format = "json" they are JSON objects too."""
    import json

    from citynet.logs import announce, configure

    configure("INFO", "json")
    try:
        announce("citynet web app on http://127.0.0.1:8080/ (Ctrl-C stops)")
    finally:
        configure("INFO")
    announce("citynet stopped")
    json_line, text_line = capsys.readouterr().out.splitlines()
    said = json.loads(json_line)
    assert {k: said[k] for k in ("level", "logger", "message")} == {
        "level": "INFO", "logger": "citynet.serve",
        "message": "citynet web app on http://127.0.0.1:8080/ (Ctrl-C stops)"}
    assert text_line == "citynet stopped"
