"""The service beside the web app that takes the Portal-protocol ACs' NTF_LOGOUT on
``portal.protocol_port`` (portal.acclient.NoticeListener) and ends the session it names."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from citynet.cache import Reloading
from citynet.catalogs import gettext as _
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from portal.acclient import AcEndpoint, Drops, NoticeListener
from portal.acnas import AcDirectory
from radius import sessions

log = logging.getLogger(__name__)


class AcNoticeService:
    """Binds the port once the registry has a Portal-protocol AC: at start-up, or — for an
    AC registered later — at the first NAS re-read (``radius.nas_refresh_seconds``) that
    finds one, without a restart. A deployment without such ACs binds no extra port.

    One process per node runs it (``once_per_node``, citynet/roles.py): a notice must be
    handled once, so the port is never shared (docs/operations.md)."""

    once_per_node = True

    def __init__(self, store: Store, box: SecretBox | None, config: Config,
                 port: int | None = None, refresh: float | None = None) -> None:
        self.store, self.box = store, box
        self.bind = config.radius.bind
        self.port = config.portal.protocol_port if port is None else port
        self.refresh = config.radius.nas_refresh_seconds if refresh is None else refresh
        self.drops = Drops("listener")
        self.directory = Reloading(self._load, "Portal-protocol ACs", ttl=self.refresh)
        self.listener = NoticeListener(lambda a: self.directory.get().by_address(a),
                                       self._ended, self.drops)
        self.bound: int | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._failed = False

    def _load(self) -> AcDirectory:
        with self.store.session() as db:
            return AcDirectory.load(db, self.box)

    def describe(self) -> str:
        if self.bound:
            return _("Portal-protocol notices on udp %(address)s",
                     address=f"{self.bind}:{self.bound}")
        if self._failed:
            return _("Portal-protocol notices: off (cannot listen on udp %(address)s)",
                     address=f"{self.bind}:{self.port}")
        return _("Portal-protocol notices: not yet (no AC registered with a portal protocol; "
                 "re-checked every %(seconds)s s)", seconds=f"{self.refresh:g}")

    def start(self) -> None:
        if not self._listen_if_needed():
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name="portal-notices-watch")
            self._watcher.start()

    def _listen_if_needed(self) -> bool:
        """Bind if the registry has an AC; whether there is nothing more to wait for."""
        try:
            wanted = len(self.directory.get()) > 0
        except Exception as exc:  # the store may be back at the next re-read
            log.error("Portal protocol: the ACs were not read: %s", exc)
            return False
        if not wanted:
            return False
        try:
            self.bound = self.listener.start(self.bind, self.port)
        except OSError as exc:
            self._failed = True
            log.error("Portal protocol: cannot listen on udp %s:%d (portal.protocol_port): "
                      "%s; ACs' logout notices are not taken", self.bind, self.port, exc)
        else:
            log.info("Portal protocol: taking the ACs' notices on udp %s:%d", self.bind,
                     self.bound)
        return True

    def _watch(self) -> None:
        while not self._stopping.wait(self.refresh):
            if self._listen_if_needed():
                return

    def _ended(self, endpoint: AcEndpoint, user_ip: str) -> None:
        with self.store.session() as db:
            closed = sessions.end_at_nas(db, endpoint.name, user_ip, datetime.now(UTC))
        log.info("Portal protocol: %s logged out %s (%d open session(s) closed)",
                 endpoint.name, user_ip, closed)

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.listener.close()
