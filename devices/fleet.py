"""Fleet operations: plan and push intent to many devices at once, safely.

A push works device by device: log in, read the running config (the backup, kept before
anything changes), plan, send the commands, read the config again and check the intent
is there, save. When anything fails after the first command, that device is rolled back
to its state before the change and the result says exactly what happened. The fleet goes
canary first, then the rest with limits on devices at once (overall and per site) and on
new SSH sessions per second; past ``max_failures`` failures the remaining devices are
skipped. Every device gets its own result; nothing here raises for one device's failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from citynet.catalogs import N_, Message
from devices import confdiff
from devices.driver import DeviceError, Login, Session
from devices.intent import Device, Intent
from devices.platforms import CIPHER, Profile

log = logging.getLogger(__name__)


class Status(StrEnum):
    UNCHANGED = "unchanged"  # the device already matches its intent
    PLANNED = "planned"  # plan only: this is what a push would send
    PUSHED = "pushed"  # changed, verified, saved
    ROLLED_BACK = "rolled_back"  # the change failed and the device is as it was
    ROLLBACK_FAILED = "rollback_failed"  # the change failed and so did the rollback: act now
    FAILED = "failed"  # nothing was changed (unreachable, login refused, bad intent)
    SKIPPED = "skipped"  # not tried: the canary or too many others failed
    READ = "read"  # its running config was read (backup, drift)

    @property
    def ok(self) -> bool:
        return self in (Status.UNCHANGED, Status.PLANNED, Status.PUSHED, Status.READ)


# a status as people read it (the CLI's per-device lines and summary, the change page);
# --json, the API and the audit record keep Status's value, whose English these are
STATUS_WORDS = {Status.UNCHANGED: N_("unchanged"), Status.PLANNED: N_("planned"),
                Status.PUSHED: N_("pushed"), Status.ROLLED_BACK: N_("rolled_back"),
                Status.ROLLBACK_FAILED: N_("rollback_failed"), Status.FAILED: N_("failed"),
                Status.SKIPPED: N_("skipped"), Status.READ: N_("read")}


@dataclass(frozen=True)
class Target:
    device: Device
    login: Login
    intent: Intent


@dataclass
class Result:
    hostname: str
    site: str
    status: Status
    added: list[str] = field(default_factory=list)  # redacted diff lines
    removed: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # redacted, as sent or as planned
    error: str = ""
    rollback: str = ""  # what the rollback did, or why it failed
    timings: dict[str, float] = field(default_factory=dict)  # connect, read, push, verify, save
    pre_change: str = ""  # the running config before the push (clear text: never printed)

    @property
    def ok(self) -> bool:
        return self.status.ok


@dataclass(frozen=True)
class Limits:
    concurrency: int = 20
    per_site: int = 4
    sessions_per_second: float = 10.0
    canary: int = 1
    max_failures: int = 3


class Pacer:
    """At most ``rate`` new sessions a second across threads (devices have few VTY lines,
    and a burst of logins overloads the AAA server behind them)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._gap = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._gap
        if slot > now:
            self._sleep(slot - now)  # pacing, not synchronisation: the slot is ours


Connect = Callable[[Login], Session]


def _apply(session: Session, clock: _Clock, change: confdiff.Change, save: bool,
           profile: Profile, remaining: Callable[[str], confdiff.Change], failure: str) -> None:
    """Send ``change``, read the config back and check nothing ``remaining`` is left,
    then save: the common tail of a push and of a rollback to a backup."""
    with clock.step("push"):
        session.configure(change.commands)
    with clock.step("verify"):
        left = remaining(session.running())
    if not left.empty:
        shown = [confdiff.redact_line(c, profile) for c in left.commands[:3]]
        raise DeviceError(session.login.hostname, N_("%(failure)s (still: %(left)s)"),
                          failure=failure, left="; ".join(shown))
    if save:
        with clock.step("save"):
            session.save()


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def step(self, name: str) -> _Step:
        return _Step(self.timings, name)


class _Step:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + (
            time.perf_counter() - self.started)


@contextmanager
def _opened(login: Login, clock: _Clock, pacer: Pacer, connect: Connect) -> Iterator[Session]:
    """A paced, timed session, closed on the way out."""
    pacer.wait()
    with clock.step("connect"):
        session = connect(login).__enter__()
    try:
        yield session
    finally:
        session.__exit__(None, None, None)


def _shown(change: confdiff.Change, login: Login) -> dict[str, list[str]]:
    def redact(lines: Sequence[str]) -> list[str]:
        return [confdiff.redact_line(line, login.profile) for line in lines]
    return {"added": redact(change.added), "removed": redact(change.removed),
            "commands": redact(change.commands)}


def read_one(target: Target, pacer: Pacer, connect: Connect = Session) -> Result:
    """Read the running config (into ``pre_change``); changes nothing."""
    device = target.device
    result = Result(device.hostname, device.site, Status.READ)
    clock = _Clock(result.timings)
    try:
        with _opened(target.login, clock, pacer, connect) as session, clock.step("read"):
            result.pre_change = session.running()
    except DeviceError as exc:
        result.status, result.error = Status.FAILED, exc.message()
    return result


def plan_one(target: Target, pacer: Pacer, connect: Connect = Session) -> Result:
    """Read the running config and say what a push would send; sends nothing."""
    device, login = target.device, target.login
    result = Result(device.hostname, device.site, Status.PLANNED)
    clock = _Clock(result.timings)
    try:
        with _opened(login, clock, pacer, connect) as session, clock.step("read"):
            running = session.running()
    except DeviceError as exc:
        result.status, result.error = Status.FAILED, exc.message()
        return result
    return plan_against(target, running, result)


def plan_against(target: Target, running: str, result: Result | None = None) -> Result:
    """What a push would send to a device whose running config is ``running`` (read
    from the device, or a backup of it). Pure."""
    device, login = target.device, target.login
    result = result or Result(device.hostname, device.site, Status.PLANNED)
    change = confdiff.plan(target.intent.text, running, login.profile, target.intent.owned)
    result.__dict__.update(_shown(change, login))
    result.status = Status.UNCHANGED if change.empty else Status.PLANNED
    return result


KeepBefore = Callable[[str, str], None]  # (hostname, running config) before any change
Toward = Callable[[str], confdiff.Change]  # a running config -> the change to some state
Back = Callable[[str], Toward]  # the running config before a change -> the way back to it


def push_one(target: Target, pacer: Pacer, *, save: bool = True,
             keep: KeepBefore | None = None, connect: Connect = Session) -> Result:
    """Push one device's intent: backup, change, verify, save; roll back on failure."""
    login, intent = target.login, target.intent

    def back(before: str) -> Toward:
        return lambda now: confdiff.restore(before, now, intent.text, login.profile,
                                            intent.owned)
    return _change_one(target, pacer, connect, save=save, keep=keep, back=back,
                       toward=lambda running: confdiff.plan(intent.text, running,
                                                            login.profile, intent.owned),
                       failure=Message(N_("the intent is not in the running config after "
                                          "the push")))


def _change_one(target: Target, pacer: Pacer, connect: Connect, *, toward: Toward,
                back: Back, save: bool, keep: KeepBefore | None, failure: str) -> Result:
    """Read, change ``toward`` a state, verify, save; if anything fails after the first
    command, go ``back`` to the config read first. ``failed`` means nothing was sent."""
    device, login = target.device, target.login
    result = Result(device.hostname, device.site, Status.FAILED)
    clock = _Clock(result.timings)
    pacer.wait()
    try:
        with clock.step("connect"):
            session = connect(login).__enter__()
    except DeviceError as exc:
        result.error = exc.message()
        return result
    try:
        with clock.step("read"):
            before = session.running()
        result.pre_change = before
        change = toward(before)
        result.__dict__.update(_shown(change, login))
        if change.empty:
            result.status = Status.UNCHANGED
            return result
        if keep is not None:
            keep(device.hostname, before)  # safe on disk before the first command is sent
        try:
            _apply(session, clock, change, save, login.profile, toward, failure)
            result.status = Status.PUSHED
        except DeviceError as exc:
            result.error = exc.message()
            session = _roll_back(login, session, back(before), result, connect, pacer)
        return result
    except DeviceError as exc:  # reading before the change failed: nothing was changed
        result.error = exc.message()
        return result
    finally:
        session.__exit__(None, None, None)


def _roll_back(login: Login, session: Session, undo: Toward, result: Result,
               connect: Connect, pacer: Pacer) -> Session:
    """Bring the device back to the state before the change (``undo`` says how from any
    running config), verified; reconnects if the session was lost. Returns the session in
    use (to be closed by the caller)."""
    for attempt in (1, 2):
        try:
            if attempt == 2:
                session.__exit__(None, None, None)
                pacer.wait()
                session = connect(login).__enter__()
            change = undo(session.running())
            session.configure(change.commands)
            if not undo(session.running()).empty:
                raise DeviceError(login.hostname, N_("the rollback left differences"))
            result.status = Status.ROLLED_BACK
            result.rollback = Message(N_("restored the state before the change (%(count)s "
                                         "commands; not saved, so the startup config is "
                                         "untouched)"), count=len(change.commands))
            return session
        except DeviceError as exc:
            result.rollback = Message(N_("rollback failed: %(error)s"), error=exc.message())
    result.status = Status.ROLLBACK_FAILED
    return session


Work = Callable[[Target], Result]
Progress = Callable[[Result], None]


def run(targets: Sequence[Target], work: Work, limits: Limits,
        progress: Progress | None = None) -> list[Result]:
    """``work`` for every target: the canary devices one at a time first, then the rest
    in parallel within the limits. Results come back in the order of ``targets``."""
    results: dict[str, Result] = {}
    failures = 0
    lock = threading.Lock()
    site_gates: dict[str, threading.Semaphore] = defaultdict(
        lambda: threading.Semaphore(limits.per_site))

    def one(target: Target) -> None:
        nonlocal failures
        hostname = target.device.hostname
        with lock:
            stop = failures > limits.max_failures
            gate = site_gates[target.device.site]
        if stop:
            result = Result(hostname, target.device.site, Status.SKIPPED,
                            error=Message(N_("not tried: more than %(most)s devices failed"),
                                          most=limits.max_failures))
        else:
            with gate:
                result = _guarded(work, target)
        with lock:
            if not result.ok and result.status is not Status.SKIPPED:
                failures += 1
            results[hostname] = result
        if progress is not None:
            progress(result)

    canary, rest = list(targets[:limits.canary]), list(targets[limits.canary:])
    for target in canary:
        one(target)
    if any(not results[t.device.hostname].ok for t in canary):
        for target in rest:
            skipped = Result(target.device.hostname, target.device.site, Status.SKIPPED,
                             error=Message(N_("not tried: the canary failed")))
            results[target.device.hostname] = skipped
            if progress is not None:
                progress(skipped)
    else:
        with ThreadPoolExecutor(max_workers=limits.concurrency,
                                thread_name_prefix="devices") as pool:
            list(pool.map(one, interleaved(rest)))
    return [results[t.device.hostname] for t in targets]


def interleaved(targets: Sequence[Target]) -> list[Target]:
    """Sites taken in turn (a device of each site, then the next of each): workers do not
    queue behind one site's per-site limit while other sites wait."""
    by_site: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        by_site[target.device.site].append(target)
    queues = list(by_site.values())
    out: list[Target] = []
    for index in range(max((len(q) for q in queues), default=0)):
        out.extend(q[index] for q in queues if index < len(q))
    return out


def _guarded(work: Work, target: Target) -> Result:
    try:
        return work(target)
    except Exception as exc:  # one device's bug never stops the fleet; it is reported
        log.exception("%s: unexpected error", target.device.hostname)
        return Result(target.device.hostname, target.device.site, Status.FAILED,
                      error=Message(N_("unexpected error: %(error)s"),
                                    error=type(exc).__name__))


def drift_of(target: Target, running: str) -> list[str]:
    """How the running config differs from the intent, as redacted diff lines."""
    login, intent = target.login, target.intent
    change = confdiff.plan(intent.text, running, login.profile, intent.owned)
    shown = _shown(change, login)
    return shown["added"] + shown["removed"]  # already "+ ..." and "- ..."


def restore_one(target: Target, wanted: str, pacer: Pacer, *, save: bool = True,
                connect: Connect = Session) -> Result:
    """Make the device's whole config what ``wanted`` (a backup) says: the differences
    undone command by command, verified, saved. If that fails part-way, what was sent is
    undone in turn: the device ends as the backup has it or as it was before."""
    profile = target.login.profile
    # a backup holds <cipher> where the device re-encrypts a key on every display: such a
    # line cannot be sent back (the key itself is not in the backup)
    wanted = "\n".join(line for line in wanted.splitlines() if CIPHER not in line)
    return _change_one(target, pacer, connect, save=save, keep=None,
                       toward=_whole(wanted, profile),
                       back=lambda before: _whole(before, profile),
                       failure=Message(N_("differences remain after the rollback")))


def _whole(wanted: str, profile: Profile) -> Toward:
    """The change that makes a whole running config ``wanted``: every line either config
    has is in scope."""
    return lambda now: confdiff.restore(wanted, now, f"{wanted}\n{now}", profile, ())
