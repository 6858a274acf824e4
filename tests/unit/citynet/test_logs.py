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
    assert lines[0].startswith('accounting from gw not stored: the store failed: Exception: '
                               'connection failed: connection to server at "10.0.0.1", port '
                               "5432 failed: Connection refused (seen 1× since its last line")
    assert "shutting down (seen 1×" in lines[1]
    assert ("(seen 2950× since its last line; one line a minute per failure and cause)"
            in lines[2])
    assert all("\n" not in line for line in lines)


def test_cause_is_the_drivers_first_line_without_the_statement() -> None:
    assert cause_of(outage()) == ('Exception: connection failed: connection to server at '
                                  '"10.0.0.1", port 5432 failed: Connection refused')
    assert cause_of(TimeoutError()) == "TimeoutError"
    assert len(cause_of(OSError("x" * 5000))) < 320


def test_another_failure_with_the_same_cause_gets_its_own_line(
        caplog: pytest.LogCaptureFixture) -> None:
    throttle = Throttle(60, Clock())
    log = logging.getLogger("citynet.test")
    with caplog.at_level(logging.ERROR):
        store_failed(log, "accounting from gw not stored", outage(), throttle)
        store_failed(log, "NAS registry not refreshed", outage(), throttle)
        store_failed(log, "NAS registry not refreshed", outage(), throttle)
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(":")[0] for line in lines] == ["accounting from gw not stored",
                                                      "NAS registry not refreshed"]


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
