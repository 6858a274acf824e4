"""The RADIUS service: its own event loop on a thread — the UDP listener and, when
``radius.rest_token`` is set, the rlm_rest API for FreeRADIUS in front — started and
stopped by `citynet serve` / `citynet demo`, or run in the foreground by `citynet radius
serve`."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Sequence
from functools import partial
from zoneinfo import ZoneInfo

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.domains import registered
from citynet.errors import CitynetError
from citynet.gates import LoginGate
from citynet.logs import store_failed
from citynet.runtime import Runtime
from citynet.tunnel import TunnelSource
from radius import coa, listener, records, rlm_rest
from radius.accounting import RecordWriter
from radius.enforcement import Enforcer
from radius.freeradius import http_url
from radius.listener import Port, RadiusServer, listen
from radius.nas import NasRegistry
from radius.policy import Policy
from radius.rlm_rest import PREFIX, RestApi
from radius.settings import RadiusConfig

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1/32", "::1/128")


def login_gates(config: Config) -> list[LoginGate]:
    """Every registered domain's say in 802.1X and MAC bypass logins (citynet.gates)."""
    return [gate for domain in registered() for gate in domain.gates(config)]


def tunnel_sources(runtime: Runtime, box: SecretBox | None) -> list[TunnelSource]:
    """Who answers logins inside PEAP and TTLS: the registered domains that say so."""
    return [domain.tunnel_logins(runtime, box) for domain in registered()
            if domain.tunnel_logins is not None]


def note_chain_writer(store: Store, chain_no: int, node: int) -> None:
    """At a listener's start on PostgreSQL: note this host as chain ``chain_no``'s
    writer, and warn when another host was — two nodes with one ``radius.node`` share
    their chains (slow, not wrong: docs/radius.md)."""
    with store.session() as session:
        other = records.note_writer(session, chain_no, socket.gethostname())
    if other is not None:
        log.warning("radius.node = %d: login-record chain %d was last written from host "
                    "%s, not this one; if citynet runs there with the same radius.node, "
                    "the two nodes share their chains and take turns on their locks — "
                    "give each node its own radius.node (if that host was replaced, "
                    "ignore this once)", node, chain_no, other)


def _udp_refused(config: RadiusConfig, exc: OSError) -> CitynetError:
    return CitynetError(N_("RADIUS cannot listen on %(bind)s ports %(auth)s/%(acct)s "
                           "(radius.bind, radius.auth_port, radius.acct_port): "
                           "%(reason)s"), bind=config.bind, auth=config.auth_port,
                        acct=config.acct_port, reason=_reason(exc))


def _api_refused(config: RadiusConfig, exc: OSError) -> CitynetError:
    return CitynetError(N_("the rlm_rest API cannot listen on %(bind)s port "
                           "%(port)s (radius.rest_bind, radius.rest_port): "
                           "%(reason)s"), bind=config.rest_bind,
                        port=config.rest_port, reason=_reason(exc))


def _reason(exc: OSError) -> str:
    """The system's words for the error: asyncio rewords a failed bind ("error while
    attempting to bind on address ...") but keeps its errno."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


def check_ports_free(config: RadiusConfig) -> None:
    """Before a serve starts its listener processes, which share their fixed ports
    (SO_REUSEPORT): the CitynetError a listener alone would meet if a program holds one
    — another serve's listeners among them, which the children would join unseen. The
    ports are free again when it returns."""
    try:
        for port in (config.auth_port, config.acct_port) if config.enabled else ():
            if port:
                listener.probe(config.bind, port)
    except OSError as exc:
        raise _udp_refused(config, exc) from None
    if config.serves_api and config.rest_port:
        try:
            rlm_rest.probe(config.rest_bind, config.rest_port)
        except OSError as exc:
            raise _api_refused(config, exc) from None


class RadiusService:
    def __init__(self, store: Store, box: SecretBox | None, config: RadiusConfig,
                 coa_port: int | None = None, udp: bool = True,
                 metrics_allow: Sequence[str] = LOOPBACK,
                 gates: Sequence[LoginGate] = (),
                 tunnel_sources: Sequence[TunnelSource] = (), chain_no: int = 0,
                 share_ports: bool = False) -> None:
        """``udp``: open the auth and accounting ports (not when FreeRADIUS has them);
        ``metrics_allow``: who may read the rlm_rest API's /metrics (config metrics.allow);
        ``gates``: the registry's say in 802.1X and MAC bypass logins (citynet.gates);
        ``tunnel_sources``: the domains answering PEAP/TTLS inner logins (rlm_rest);
        ``chain_no``: the login-record chain this process appends to (PostgreSQL: one per
        listener process of the cluster, :func:`radius.records.listener_chain`);
        ``share_ports``: this is one of the node's several listener processes, which
        share the fixed ports (SO_REUSEPORT); alone, it holds them to itself."""
        self.store, self.box, self.config, self.udp = store, box, config, udp
        self.share_ports = share_ports
        zone = ZoneInfo(config.timezone)
        policy = Policy(store, box, zone, gates=gates)
        # Disconnects for limits seen in accounting go to the NAS the registry knows now
        self.enforcer = Enforcer(store, lambda name: self.server.registry.by_name(name),
                                 policy.profiles, zone,
                                 send=partial(coa.send, source=coa.source_for(config)),
                                 port=config.coa_port if coa_port is None else coa_port)
        self.writer = RecordWriter(store, after_commit=self.enforcer.after_commit,
                                   decide=policy.decide_in, prepare=policy.prepare_in,
                                   refused=policy.refused_in,
                                   chain_no=chain_no)
        with store.session() as session:
            self.server = RadiusServer(NasRegistry.load(session, box), self.writer)
        policy.vendor_of = self._vendor_of
        self.api = RestApi(self.server, config.rest_token.get_secret_value(),
                           config.rest_allow, metrics_allow,
                           tunnel_sources) if config.serves_api else None
        self.api_port = config.rest_port  # the real one once started
        self._loop: asyncio.AbstractEventLoop | None = None  # made by start()
        self._stopped = asyncio.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="radius", daemon=True)
        self.ports = (config.auth_port, config.acct_port)  # the real ones once started

    def _vendor_of(self, nas: str) -> str:
        entry = self.server.registry.by_name(nas)
        return entry.vendor if entry is not None else "other"

    def describe(self) -> str:
        """The start-up line, in the command's language (English unless it chose another:
        tests and scripts read the ports from it)."""
        auth, acct = self.ports
        parts = [_("RADIUS on %(bind)s auth %(auth)s/udp, accounting %(acct)s/udp",
                   bind=self.config.bind, auth=auth, acct=acct)] if self.udp else []
        if self.api is not None:
            parts.append(_("rlm_rest API on %(url)s", url=f"{self.api_url}/"))
        return ", ".join([*parts, _("%(count)s NAS", count=len(self.server.registry))])

    @property
    def api_url(self) -> str:
        return http_url(self.config.rest_bind, self.api_port) + PREFIX

    def start(self) -> None:
        self.server.registry.warn_about_legacy()
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._thread.is_alive():
            assert self._loop is not None  # noqa: S101 - the thread runs it
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=30)
        self.enforcer.close()
        log.info("RADIUS stopped: %s", dict(self.server.counters + self.enforcer.counters))

    async def _refresh_registry(self) -> None:
        """Pick up NAS clients added, changed or removed since start (`citynet nas add`)."""
        def load() -> NasRegistry:
            with self.store.session() as session:
                return NasRegistry.load(session, self.box)

        try:
            registry = await asyncio.get_running_loop().run_in_executor(None, load)
        except Exception as exc:  # keep serving with the registry we have
            store_failed(log, "NAS registry not refreshed", exc)
            return
        if registry.entries != self.server.registry.entries:
            log.info("NAS registry refreshed: %d NAS", len(registry))
            registry.warn_about_legacy()
        self.server.registry = registry

    def _run(self) -> None:
        self._loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _open(self) -> list[Port]:
        """The UDP ports and the API, each only if asked for; an OSError that says which
        could not listen (nothing stays open then)."""
        config = self.config
        try:
            ports = listen(self.server, config.bind, config.auth_port, config.acct_port,
                           self.share_ports) if self.udp else []
        except OSError as exc:
            raise _udp_refused(config, exc) from None
        if ports:  # port 0 in config means "any free port" (tests): the real ones
            self.ports = (ports[0].number, ports[1].number)
        if self.api is not None:
            try:
                self.api_port = await self.api.start(config.rest_bind, config.rest_port,
                                                     self.share_ports)
            except OSError as exc:
                for port in ports:
                    port.close()
                raise _api_refused(config, exc) from None
        return ports

    async def _main(self) -> None:
        try:
            ports = await self._open()
        except (CitynetError, OSError) as exc:  # a port in use: start() raises it
            self._error = exc
            return
        finally:
            self._ready.set()
        while True:
            try:
                await asyncio.wait_for(self._stopped.wait(), self.config.nas_refresh_seconds)
                break
            except TimeoutError:
                self.server.export_counts()  # drops between rounds reach the metrics too
                await self._refresh_registry()
        for port in ports:
            port.close()
        if self.api is not None:
            await self.api.stop()
