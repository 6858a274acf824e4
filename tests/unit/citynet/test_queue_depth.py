"""waitress's queue-depth warning, once a minute however many requests wait: said to a
real dispatcher with no free thread."""

from __future__ import annotations

import logging

import pytest
from waitress.task import ThreadedTaskDispatcher

from citynet.logs import Throttle
from citynet.server import QueueDepth


def test_a_flood_of_waiting_requests_is_one_line_a_minute(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    dispatcher = ThreadedTaskDispatcher()  # no threads: every task waits
    dispatcher.queue_logger = QueueDepth(logging.getLogger("waitress.queue"),
                                         Throttle(every=60, clock=lambda: now[0]))
    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        for task in range(500):
            dispatcher.add_task(task)
        now[0] += 61
        dispatcher.add_task(500)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["Task queue depth is 1 (1× since the last line; one line a minute)",
                     "Task queue depth is 501 (500× since the last line; one line a minute)"]
