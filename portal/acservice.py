"""The service beside the web app that takes the Portal-protocol ACs' NTF_LOGOUT on
``portal.protocol_port`` (portal.acclient.NoticeListener) and ends the session it names."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from citynet.cache import Reloading
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from portal.acclient import AcEndpoint, Drops, NoticeListener
from portal.acnas import AcDirectory
from radius import sessions

log = logging.getLogger(__name__)


class AcNoticeService:
    """Listens only when the registry has a Portal-protocol AC at start-up (an AC added
    later needs a restart), so a deployment without such ACs binds no extra port."""

    def __init__(self, store: Store, box: SecretBox | None, config: Config,
                 port: int | None = None) -> None:
        self.store, self.box = store, box
        self.bind = config.radius.bind
        self.port = config.portal.protocol_port if port is None else port
        self.drops = Drops()
        self.directory = Reloading(self._load, "Portal-protocol ACs")
        self.listener = NoticeListener(lambda a: self.directory.get().by_address(a),
                                       self._ended, self.drops)
        self.bound: int | None = None

    def _load(self) -> AcDirectory:
        with self.store.session() as db:
            return AcDirectory.load(db, self.box)

    def describe(self) -> str:
        return (f"Portal-protocol notices on udp {self.bind}:{self.bound}" if self.bound
                else "Portal-protocol notices: off (no AC registered with a portal protocol)")

    def start(self) -> None:
        if not len(self.directory.get()):
            return
        try:
            self.bound = self.listener.start(self.bind, self.port)
        except OSError as exc:
            log.error("Portal protocol: cannot listen on udp %s:%d (portal.protocol_port): "
                      "%s; ACs' logout notices are not taken", self.bind, self.port, exc)

    def _ended(self, endpoint: AcEndpoint, user_ip: str) -> None:
        with self.store.session() as db:
            closed = sessions.end_at_nas(db, endpoint.name, user_ip, datetime.now(UTC))
        log.info("Portal protocol: %s logged out %s (%d open session(s) closed)",
                 endpoint.name, user_ip, closed)

    def stop(self) -> None:
        self.listener.close()
