"""The password hold's rule (admission.holds.held_until): which counts hold a login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admission.holds import ANY_DEVICE, WINDOW, Count, Limits, held_reason, held_until

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
PHONE, LAPTOP = "00:1b:a9:00:00:01", "00:1b:a9:00:00:02"
LIMITS = Limits(device=10, person=30)


def test_a_device_at_its_limit_is_held_until_its_window_is_over() -> None:
    since = NOW - timedelta(minutes=5)
    counts = [Count(PHONE, since, 10)]
    assert held_until(counts, PHONE, LIMITS, NOW) == since + WINDOW
    assert held_until([Count(PHONE, since, 9)], PHONE, LIMITS, NOW) is None


def test_another_device_of_the_person_is_not_held_by_a_guessers_count() -> None:
    counts = [Count(PHONE, NOW - timedelta(minutes=5), 25), Count(ANY_DEVICE, NOW, 25)]
    assert held_until(counts, LAPTOP, LIMITS, NOW) is None


def test_the_persons_count_holds_every_device() -> None:
    since = NOW - timedelta(minutes=1)
    counts = [Count(ANY_DEVICE, since, 30)]
    assert held_until(counts, LAPTOP, LIMITS, NOW) == since + WINDOW
    assert held_until(counts, "", LIMITS, NOW) == since + WINDOW  # no MAC: held too


def test_the_later_of_two_holds_counts() -> None:
    device = Count(PHONE, NOW - timedelta(minutes=2), 10)
    person = Count(ANY_DEVICE, NOW - timedelta(minutes=10), 30)
    assert held_until([person, device], PHONE, LIMITS, NOW) == device.since + WINDOW


def test_a_window_that_is_over_holds_nothing() -> None:
    counts = [Count(PHONE, NOW - WINDOW, 50), Count(ANY_DEVICE, NOW - WINDOW, 50)]
    assert held_until(counts, PHONE, LIMITS, NOW) is None


def test_a_limit_of_zero_holds_nothing() -> None:
    counts = [Count(PHONE, NOW, 1000), Count(ANY_DEVICE, NOW, 1000)]
    assert held_until(counts, PHONE, Limits(0, 0), NOW) is None
    assert held_until(counts, PHONE, Limits(0, 30), NOW) == NOW + WINDOW


def test_the_reason_says_until_when() -> None:
    assert held_reason(NOW + WINDOW) == "too many wrong passwords, held until 2026-12-08 " \
        "01:15 UTC"
