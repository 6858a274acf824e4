"""Which NAS a datagram came from, and its shared secret: the registry the listener
consults before it decodes anything."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.catalogs import N_
from citynet.crypto import SecretBox
from citynet.errors import SecretsError
from inventory.models import NasClient

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class NasEntry:
    name: str
    network: IPNetwork
    secret: bytes
    policy: str
    require_message_authenticator: bool = True
    vendor: str = "other"  # inventory NasVendor value: which attributes it reads (radius.vendors)


KNOWN_ADDRESSES = 65_536  # NAS source addresses remembered per registry


class NasRegistry:
    """Source address → NAS. Exact addresses first, then the most specific network."""

    def __init__(self, entries: list[NasEntry]) -> None:
        self.entries = frozenset(entries)
        self._by_name = {e.name: e for e in entries}
        self._exact = {e.network.network_address: e for e in entries
                       if e.network.num_addresses == 1}
        self._networks = sorted((e for e in entries if e.network.num_addresses > 1),
                                key=lambda e: e.network.prefixlen, reverse=True)
        self._known: dict[str, NasEntry] = {}

    def __len__(self) -> int:
        return len(self._exact) + len(self._networks)

    def lookup(self, address: str) -> NasEntry | None:
        """The NAS at this source address (every datagram asks: known ones are
        remembered by their text, unknown ones not, so a flood of spoofed sources cannot
        grow the memo)."""
        found = self._known.get(address)
        if found is None:
            found = self._find(address)
            if found is not None and len(self._known) < KNOWN_ADDRESSES:
                self._known[address] = found
        return found

    def _find(self, address: str) -> NasEntry | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        found = self._exact.get(ip)
        if found is not None:
            return found
        return next((e for e in self._networks if ip in e.network), None)

    def by_name(self, name: str) -> NasEntry | None:
        return self._by_name.get(name)

    @classmethod
    def load(cls, session: Session, box: SecretBox | None) -> NasRegistry:
        clients = session.scalars(select(NasClient)).all()
        if not clients:
            return cls([])
        if box is None:
            raise SecretsError(N_("NAS clients are registered but no secrets key is "
                                  "available to open their shared secrets"))
        return cls([
            NasEntry(c.name, ipaddress.ip_network(c.address), box.open(c.secret_sealed).encode(),
                     c.policy, c.message_authenticator != "off", c.vendor.value)
            for c in clients
        ])

    def warn_about_legacy(self) -> None:
        """Say loudly which NAS may send unsigned Access-Requests (on start and change)."""
        for entry in sorted(self.entries, key=lambda e: e.name):
            if not entry.require_message_authenticator:
                log.warning("NAS %s: Message-Authenticator NOT required (legacy setting): its "
                            "Access-Requests are open to Blast-RADIUS forgery (CVE-2024-3596)",
                            entry.name)
