"""Logging set-up, called once by entry points (never at import time), and the throttle
that keeps a flood of one problem (a database outage, a NAS with a wrong secret) to a
line a minute."""

import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message (and the
    traceback, if any), for log collectors that parse fields rather than text."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(
                     timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", form: str = "text") -> None:
    """``form``: ``text`` lines or ``json`` (config logging.format)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if form == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # alembic narrates every migration context at INFO; its warnings still show
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def announce(line: str) -> None:
    """One of ``citynet serve``'s own lines on standard output (what it runs, where; that
    it stopped): as it is, or — with ``logging.format = "json"`` — as a JSON object like
    the log's, so a collector that parses the journal's lines as JSON meets no other."""
    if any(isinstance(handler.formatter, JsonLines)
           for handler in logging.getLogger().handlers):
        line = JsonLines().format(logging.LogRecord("citynet.serve", logging.INFO, __file__,
                                                    0, line, None, None))
    print(line, flush=True)


class Throttle:
    """Whether a problem is due to be logged again: at most once per ``every`` seconds per
    key, so a flood does not flood the log. :meth:`due` counts every occurrence and, when
    a line is due, says how many there were since the last line about that key. A key not
    seen for longer than ``every`` and owing no count is forgotten (its next occurrence is
    logged at once anyway), so keys that carry varying text do not pile up. ``kind``
    tallies what the occurrences were (:meth:`tally`), for a line that sums them up."""

    def __init__(self, every: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._last: dict[object, float] = {}  # when its last line was due
        self._seen: dict[object, float] = {}  # when it last occurred
        self._count: dict[object, int] = {}
        self._kinds: dict[object, Counter[str]] = {}
        self._held: set[object] = set()  # the keys owing a count (occurrences held back)
        self._lock = threading.Lock()
        self._pruned = clock()

    def due(self, key: object, kind: str = "") -> int:
        """0 if ``key`` was logged less than ``every`` seconds ago; else the occurrences
        since its last line, this one included (≥ 1: true)."""
        with self._lock:
            now = self.clock()
            self._prune(now)
            self._seen[key] = now
            self._count[key] = count = self._count.get(key, 0) + 1
            if kind:
                self._kinds.setdefault(key, Counter())[kind] += 1
            last = self._last.get(key)
            if last is not None and now - last < self.every:
                self._held.add(key)
                return 0
            self._last[key], self._count[key] = now, 0
            self._held.discard(key)
            return count

    def overdue(self) -> list[tuple[object, int, list[tuple[str, int]]]]:
        """The keys owing a count whose last line is ``every`` seconds old or more, each
        with that count and its :meth:`tally`; counted as told, as :meth:`due` would. For
        when the problem is over: :meth:`due` tells a held-back count only at the key's
        next occurrence, which may never come (an outage shorter than ``every``)."""
        if not self._held:  # the common case, on every success: no lock, no clock
            return []
        with self._lock:
            now, told = self.clock(), []
            for key in [k for k in self._held if now - self._last[k] >= self.every]:
                count, self._count[key], self._last[key] = self._count[key], 0, now
                self._held.discard(key)
                told.append((key, count, self._kinds.pop(key, Counter()).most_common()))
            return told

    def tally(self, key: object) -> list[tuple[str, int]]:
        """The kinds of ``key``'s occurrences since its last line, most frequent first;
        forgotten once read (call it when :meth:`due` said a line is due)."""
        with self._lock:
            return self._kinds.pop(key, Counter()).most_common()

    @property
    def remembered(self) -> int:
        """How many keys it holds (not ``__len__``: an empty throttle must stay truthy)."""
        return len(self._seen)

    def _prune(self, now: float) -> None:
        """Forget the keys not seen for longer than ``every`` (a sweep at most once per
        ``every``, so a flood pays for it once a minute, not per occurrence)."""
        if now - self._pruned <= self.every:
            return
        self._pruned = now
        # a key still owing a line (occurrences held back) is kept: its count is news
        for key in [k for k, seen in self._seen.items()
                    if now - seen > self.every and not self._count[k]]:
            del self._seen[key], self._last[key], self._count[key]
            self._kinds.pop(key, None)


CAUSE_LENGTH = 300  # characters of an error's first line that name its cause
STORE_FAILURES = Throttle()  # per process: every part of it reports to the one throttle


def cause_of(exc: object) -> str:
    """The cause of a failure in one short line: the driver's error (not SQLAlchemy's
    wrapper, which repeats the statement) and its first line — a multi-host connection
    error goes on for a dozen lines, one block per host."""
    orig = getattr(exc, "orig", None)
    inner = orig if isinstance(orig, BaseException) else exc
    first = (str(inner).strip().splitlines() or [""])[0][:CAUSE_LENGTH]
    return f"{type(inner).__name__}: {first}" if first else type(inner).__name__


def store_failed(logger: logging.Logger, what: str, exc: object,
                 throttle: Throttle | None = None) -> None:
    """Log that the store failed ``what`` (e.g. "accounting from gw not stored"): one
    line per cause a minute in the whole process, counting what failed since its last
    line — during a failover every layer (record writer, listener, NAS registry, web)
    fails for the same reason, and one line says it all."""
    cause = cause_of(exc)
    throttle = throttle or STORE_FAILURES
    count = throttle.due(("store", cause), what)
    if count:
        failed = ", ".join(f"{kind} {n}×" for kind, n in throttle.tally(("store", cause)))
        logger.error("the store failed: %s (%d× since its last line: %s; one line a "
                     "minute per cause)", cause, count, failed)


def store_works(logger: logging.Logger, throttle: Throttle | None = None) -> None:
    """After the store took a write: the failures :func:`store_failed` held back are
    told, once their cause's minute is up — else an outage shorter than a minute leaves
    only its first failure in the log, and the count of what it cost is never told.
    Costs nothing while nothing is owed (every RADIUS round calls it)."""
    for key, count, tally in (throttle or STORE_FAILURES).overdue():
        cause = key[1] if isinstance(key, tuple) else key  # store_failed's ("store", cause)
        failed = ", ".join(f"{kind} {n}×" for kind, n in tally)
        logger.warning("the store works again; it had failed: %s (%d× since its last "
                       "line: %s; one line a minute per cause)", cause, count, failed)
