"""Roles as processes: what ``citynet serve --role radius|web|collect`` runs, and how.

A role is a kind of work: ``radius`` (the UDP listener and the rlm_rest API), ``web``
(the Flask app) and ``collect`` (the collectors). ``citynet serve`` with no ``--role``
runs all three, as it always did: the web app on waitress threads, the RADIUS service on
a thread beside it, the collectors in a child process. Each role can also run alone, or
as several processes (docs/operations.md, "Roles and processes"):

- ``radius`` with ``radius.processes`` > 1: that many listener processes, children of
  this one (each ``citynet serve --role radius --listener N --parent PID``), sharing the
  ports through SO_REUSEPORT; a child that dies is started again. The sharing is theirs
  alone: this process first checks that no other program holds the ports (another
  serve's listeners would take the children in unseen), and a listener that is the
  node's only one binds without SO_REUSEPORT (:attr:`Plan.share_ports`). Services that must run
  once per node (:func:`once_per_node`: the portal's AC notice listener) run in listener
  1 only. A serve of one listener may be given its number (``--listener N``: a systemd
  unit ``citynet-radius@N``); the number picks the listener's login-record chain
  (docs/radius.md).
- ``web`` with ``web.workers`` > 1: gunicorn with that many threaded (gthread) workers,
  each building its own app from the factory (:mod:`citynet.webworkers`). gunicorn forks
  its workers from this process, so this process then holds no socket or database
  connection of its own: the radius role goes to child processes too.
- ``collect``: one collector process (``citynet collect``).

:func:`plan` is pure: the roles asked for and the config in, what to run and the problems
of the config out (each naming its key). :func:`run` starts it.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import click
from flask import Flask

from citynet import metrics
from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import warn_about_unanswered_hosts
from citynet.errors import ConfigError
from citynet.logs import announce
from citynet.process import (
    ChildProcess,
    citynet_argv,
    die_with_parent,
    settle,
    stop_on_sigterm,
)
from citynet.runtime import Runtime
from citynet.server import Service, serve_forever

log = logging.getLogger(__name__)

ROLES = ("radius", "web", "collect")
WebServer = Literal["waitress", "gunicorn"]


@dataclass(frozen=True)
class Problem:
    """Something wrong with the roles asked for in this config, keyed by what to change:
    a msgid and its values, said in the command's language (a warning is logged in
    English, ``str()``)."""

    key: str
    reason: str  # msgid with %(name)s blanks
    values: Mapping[str, object] = field(default_factory=dict)
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.key}: {self.reason % self.values if self.values else self.reason}"

    @property
    def message(self) -> str:
        """The reason in the command's language."""
        return _(self.reason, **self.values)


@dataclass(frozen=True)
class Plan:
    """The processes one ``citynet serve`` runs."""

    roles: frozenset[str]
    listeners: int = 0  # RADIUS listener processes (0: no radius role)
    listeners_apart: bool = False  # listeners in child processes, not a thread of this one
    # this process's listener shares its fixed ports (SO_REUSEPORT) with the node's others:
    # a child of a serve of several, or a systemd unit citynet-radius@N
    share_ports: bool = False
    web: WebServer | None = None
    collectors: bool = False
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.fatal]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.fatal]


def plan(asked: Iterable[str], config: Config, cores: int, *, child: bool = False,
         listener: int | None = None) -> Plan:
    """What to run for the roles ``asked`` (none: all three) on a machine of ``cores``
    cores; ``child``: this process is one listener of a parent ``citynet serve``;
    ``listener``: the number ``--listener`` gave (a child's, or a systemd unit's)."""
    names = list(asked)
    if not names:  # as `citynet serve` always did: RADIUS only when it has work
        names = [role for role in ROLES if role != "radius" or config.radius.has_work]
    unknown = [name for name in names if name not in ROLES]
    if unknown:
        return Plan(frozenset(), problems=(Problem(
            "--role", N_("unknown role %(role)r (one of %(roles)s)"),
            {"role": unknown[0], "roles": ", ".join(ROLES)}),))
    roles = frozenset(names)
    problems: list[Problem] = []
    web: WebServer | None = None
    if "web" in roles:
        web = "gunicorn" if config.web.workers > 1 else "waitress"
        problems += _web_problems(config)
    listeners = 0
    if "radius" in roles:
        listeners = 1 if child else config.radius.processes
        problems += _radius_problems(config, cores)
    if listeners and listener is not None and listener > cores and not child:
        # a systemd unit citynet-radius@N: units 1..N run beside it, each one listener
        problems.append(Problem("--listener", N_(
            "is %(listener)s on %(cores)s cores: with citynet-radius@1 to @%(listener)s "
            "this node runs more listener processes than cores; they take turns on a core "
            "and add no throughput"), {"listener": listener, "cores": cores}, fatal=False))
    apart = listeners > 0 and not child and (listeners > 1 or web == "gunicorn")
    if apart and listener is not None:
        # the children would be numbered 1..N whatever was given: their chains would be
        # another process's (docs/radius.md)
        problems.append(Problem("--listener", N_(
            "is %(listener)s, but this serve starts its own listeners 1 to %(count)s as "
            "children (radius.processes = %(count)s, or web.workers > 1); give --listener "
            "only to a serve that runs one listener itself (radius.processes = 1, e.g. a "
            "systemd unit citynet-radius@N)"), {"listener": listener, "count": listeners}))
    share = listeners > 0 and (config.radius.processes > 1 if child else listener is not None)
    return Plan(roles, listeners=listeners, listeners_apart=apart, share_ports=share,
                web=web, collectors="collect" in roles, problems=tuple(problems))


def _radius_problems(config: Config, cores: int) -> list[Problem]:
    radius = config.radius
    if not radius.has_work:
        return [Problem("radius.enabled", N_(
            "the radius role has nothing to run: radius.enabled is false and "
            "radius.rest_token is not set (set radius.enabled = true, or the token for the "
            "rlm_rest API alone)"))]
    problems = []
    if radius.processes > 1:
        fixed = [("radius.auth_port", radius.auth_port), ("radius.acct_port",
                                                          radius.acct_port)
                 ] if radius.enabled else []
        if radius.serves_api:
            fixed.append(("radius.rest_port", radius.rest_port))
        problems += [Problem(key, N_("is 0 (any free port), but radius.processes = "
                                     "%(count)s listeners must share one port"),
                             {"count": radius.processes})
                     for key, port in fixed if port == 0]
    if radius.node and config.database_url.startswith("sqlite"):
        problems.append(Problem("radius.node", N_(
            "is %(node)s, but SQLite is one node: every login record goes on chain 0"),
            {"node": radius.node}, fatal=False))
    if radius.processes > cores:
        problems.append(Problem("radius.processes", N_(
            "%(count)s listener processes on %(cores)s cores: they take turns on a core "
            "and add no throughput"), {"count": radius.processes, "cores": cores},
            fatal=False))
    return problems


def _web_problems(config: Config) -> list[Problem]:
    if config.web.workers > 1 and not config.database.url:
        return [Problem("web.workers", N_(
            "%(count)s workers on SQLite: their writes queue for SQLite's one write lock; "
            "for several web workers use PostgreSQL (database.url)"),
            {"count": config.web.workers}, fatal=False)]
    return []


@dataclass(frozen=True)
class Parts:
    """What the composition root (``citynet serve``) gives each role: the web app built
    from the factory, the RADIUS service of one process, the collector process."""

    web_app: Callable[[Runtime], Flask]
    radius: Callable[[Runtime, SecretBox | None], list[Service]]
    collectors: Callable[[Runtime], list[Service]]
    # before the listener processes start: a CitynetError if a port they share is taken
    ports_free: Callable[[Runtime], None] = lambda _runtime: None


def checked(asked: Sequence[str], config: Config, *, child: bool = False,
            listener: int | None = None) -> Plan:
    """The plan, its warnings logged; a ConfigError (or, for an option, a
    click.BadParameter) for the first error."""
    result = plan(asked, config, os.cpu_count() or 1, child=child, listener=listener)
    for problem in result.warnings:
        log.warning("config: %s", problem)
    if result.errors:
        problem = result.errors[0]
        if problem.key.startswith("--"):
            raise click.BadParameter(problem.message, param_hint=problem.key)
        raise ConfigError(_("config: %(key)s: %(reason)s", key=problem.key,
                            reason=problem.message))
    return result


def once_per_node(service: Service) -> bool:
    """Whether ``service`` must run in one process of the node only (its class says
    ``once_per_node = True``: e.g. it owns a UDP port whose datagrams must each be handled
    once, so the port is not shared by SO_REUSEPORT)."""
    return bool(getattr(service, "once_per_node", False))


def radius_services(services: Iterable[Service], listener: int | None) -> list[Service]:
    """The radius role's services in one process: all of them in the first listener (or
    the only one, ``listener`` None); the others leave out those that run once per node."""
    return [service for service in services
            if listener in (None, 1) or not once_per_node(service)]


def listener_argv(config_path: str | None, number: int) -> list[str]:
    """The command line of the radius role's listener child ``number`` (from 1)."""
    return citynet_argv(config_path, "serve", "--role", "radius", "--listener", str(number))


def run(runtime: Runtime, asked: Sequence[str], parts: Parts,
        parent: int | None = None, listener: int | None = None) -> None:
    """Run the roles ``asked`` in the foreground until Ctrl-C or SIGTERM; ``parent``: this
    is a listener child of that ``citynet serve`` (it leaves when the parent does), its
    ``listener`` number."""
    if parent is not None:
        die_with_parent(parent)
    chosen = checked(asked, runtime.config, child=parent is not None, listener=listener)
    box = runtime.box()  # a missing or wrong secrets key stops start-up here
    if parent is None:  # a serve's children are its own start-up's: warned once
        warn_about_unanswered_hosts(runtime.config.database_url)
    forked = chosen.listeners_apart or chosen.collectors or chosen.web == "gunicorn"
    # the node's processes count into one place, or this one's /metrics misses theirs
    unshare = (metrics.share_with_children(runtime.config.data_path) if parent is None
               and forked else None)
    # a SIGTERM while the roles start (before their own loop takes it) must come to the
    # finally below too, or the directory outlives the serve
    previous = stop_on_sigterm() if unshare is not None else None
    try:
        _run(runtime, chosen, parts, box, listener)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the roles were up: stopped
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if unshare is not None:
            unshare()


def _run(runtime: Runtime, chosen: Plan, parts: Parts, box: SecretBox | None,
         listener: int | None) -> None:
    services: list[Service] = []
    if chosen.listeners_apart:
        parts.ports_free(runtime)  # the children would join another's ports unseen
        services += [ChildProcess(f"radius-{n}", listener_argv(runtime.config_path, n),
                                  _("RADIUS listener %(number)s", number=n))
                     for n in range(1, chosen.listeners + 1)]
    elif chosen.listeners:
        runtime.listener = listener  # a domain's services may differ by listener
        runtime.share_ports = chosen.share_ports
        services += radius_services(parts.radius(runtime, box), listener)
    if chosen.collectors:
        services += parts.collectors(runtime)
    if chosen.web == "waitress":
        serve_forever(parts.web_app(runtime), runtime.config.web, banner=[],
                      services=services)
    elif chosen.web == "gunicorn":
        _with_services(services, lambda: _gunicorn(runtime, parts))
    else:
        _with_services(services, _until_stopped)


def _gunicorn(runtime: Runtime, parts: Parts) -> None:
    from citynet.webworkers import serve_workers

    web, path = runtime.config.web, runtime.config_path
    # the workers are forked from here: nothing of this process's store may go with them
    runtime.close()
    announce(_("citynet web app on %(url)s (gunicorn, %(workers)s workers of %(threads)s "
                 "threads; Ctrl-C stops)", url=f"http://{web.bind}:{web.port}/",
                 workers=web.workers, threads=web.threads))
    serve_workers(lambda: parts.web_app(Runtime(path)), web)


def _with_services(services: list[Service], foreground: Callable[[], None]) -> None:
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
            announce(service.describe())
        foreground()
    finally:
        for service in reversed(started):
            service.stop()
        announce(_("citynet stopped"))


def _until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM (the services work on their own threads or processes)."""
    previous = stop_on_sigterm()
    settle()
    announce(_("citynet roles running (Ctrl-C stops)"))
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
