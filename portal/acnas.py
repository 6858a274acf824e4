"""Which NAS are Portal-protocol ACs, and how to reach them: the NAS registry's portal
columns turned into :class:`~portal.acclient.AcEndpoint`, found by the AC's address (a
datagram's source, a redirect's ``wlanacip``/``nasip``) or its name (``wlanacname``)."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.crypto import SecretBox
from inventory.kinds import DEFAULT_PORTAL_PORT
from inventory.models import NasClient
from portal.acclient import AcEndpoint
from portal.acportal import Version

VERSIONS = {"huawei-v2": Version.V2, "huawei-v1": Version.V1, "cmcc-v1": Version.V1}


def endpoint_of(client: NasClient, box: SecretBox | None) -> AcEndpoint | None:
    """The AC behind a NAS entry, or None if it speaks no Portal protocol (or names a
    network rather than one address: the portal must know where to send)."""
    if client.portal_protocol not in VERSIONS:
        return None
    network = ipaddress.ip_network(client.address, strict=False)
    if network.num_addresses != 1:
        return None
    secret = box.open(client.portal_secret_sealed) if (
        box is not None and client.portal_secret_sealed) else ""
    return AcEndpoint(client.name, str(network.network_address),
                      client.portal_port or DEFAULT_PORTAL_PORT,
                      VERSIONS[client.portal_protocol], secret.encode())


def renamed_parameters(client: NasClient) -> dict[str, str]:
    """The AC's own redirect parameter names (role → name), where it renamed them."""
    pairs = (pair.partition("=") for pair in (client.portal_parameters or "").split(","))
    return {role: name for role, _, name in pairs if role and name}


class AcDirectory:
    """The Portal-protocol ACs of the registry, by address and by name; ``renamed``: the
    ACs whose redirect parameters differ from their vendor's (name → (vendor, role →
    parameter name)); ``vendors``: each AC's registered vendor (name → vendor)."""

    def __init__(self, endpoints: list[AcEndpoint],
                 renamed: dict[str, tuple[str, dict[str, str]]] | None = None,
                 vendors: dict[str, str] | None = None) -> None:
        self._by_address = {e.address: e for e in endpoints}
        self._by_name = {e.name.casefold(): e for e in endpoints}
        self.renamed = renamed or {}
        self.vendors = vendors or {}

    @classmethod
    def load(cls, session: Session, box: SecretBox | None) -> AcDirectory:
        clients = session.scalars(select(NasClient).where(
            NasClient.portal_protocol.is_not(None))).all()
        return cls([e for e in (endpoint_of(c, box) for c in clients) if e is not None],
                   {c.name: (c.vendor.value, renamed_parameters(c)) for c in clients
                    if c.portal_parameters},
                   {c.name: c.vendor.value for c in clients})

    def by_address(self, address: str) -> AcEndpoint | None:
        try:
            return self._by_address.get(str(ipaddress.ip_address(address.strip())))
        except ValueError:
            return None

    def by_name(self, name: str) -> AcEndpoint | None:
        return self._by_name.get(name.strip().casefold())

    def __len__(self) -> int:
        return len(self._by_address)
