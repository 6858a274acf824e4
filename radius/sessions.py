"""Public WiFi sessions for staff: find them, and address one at its NAS for a Disconnect-
or CoA-Request (RFC 5176). Shared by ``citynet sessions …`` and the admin web."""

from __future__ import annotations

import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from citynet.catalogs import N_
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.errors import CitynetError
from citynet.gates import Ended
from citynet.macs import normal_mac
from inventory.models import NasClient
from radius import coa
from radius.models import RadiusSession
from radius.records import PORT_PREFIX
from radius.settings import RadiusConfig
from radius.vouchers import identity_spellings
from radius.wire import Code


class NotAddressable(CitynetError):
    """The session cannot be sent a Disconnect or CoA; ``kind`` says why, for callers that
    word it for their own audience. The message is a msgid and its values: English in a
    record, said in the reader's language (``nac people disable``, the person page)."""

    def __init__(self, kind: str, message: str, **values: object) -> None:
        super().__init__(message, **values)
        self.kind = kind  # nas_gone, nas_network, no_key


@dataclass(frozen=True)
class NasTarget:
    """Where and how to address one open session."""

    host: str
    secret: bytes = field(repr=False)
    identity: dict[str, Any]
    nas: str
    vendor: str = "other"  # inventory NasVendor value: how it treats a CoA (radius.vendors)
    policy: str = "default"  # its policy profile: the terms its sessions were granted


def mac_spellings(mac: str) -> list[str]:
    """The ways NASes write a MAC (lower case): aa:bb:.., aa-bb-.., aabb.ccdd.eeff, bare."""
    digits = normal_mac(mac).replace(":", "")
    if not digits:
        return []
    pairs = [digits[i:i + 2] for i in range(0, 12, 2)]
    return [":".join(pairs), "-".join(pairs), digits,
            ".".join(digits[i:i + 4] for i in range(0, 12, 4))]


def shown(value: str, method: str) -> str:
    """A session's identity or User-Name as staff pages and the audit log show it: a
    voucher's code is a credential that may still let another device in, so only its
    last two symbols (enough to match a printed sheet) are shown."""
    if method != "voucher" or len(value) < 4:
        return value
    return f"…{value[-2:]}"


def matching(*, who: str = "", mac: str = "", ip: str = "", nas: str = "", port: str = "",
             stopped_too: bool = False) -> list[ColumnElement[bool]]:
    """The conditions of a search: ``who`` is the phone or voucher code (any spelling; or
    a MAC-auth User-Name), ``mac`` any spelling of a MAC; criteria not given are left
    out, and stopped sessions unless ``stopped_too``."""
    conditions: list[ColumnElement[bool]] = []
    if not stopped_too:
        conditions.append(RadiusSession.stopped_at.is_(None))
    if who:
        spellings = sorted(identity_spellings(who))
        conditions.append(or_(RadiusSession.username.in_(spellings),
                              RadiusSession.identity.in_(spellings)))
    if mac:
        conditions.append(func.lower(RadiusSession.calling_station).in_(mac_spellings(mac)))
    if ip:
        conditions.append(RadiusSession.framed_ip == ip)
    if nas:
        conditions.append(RadiusSession.nas == nas)
    if port:  # an admission's switch port (radius.records.place)
        conditions.append(RadiusSession.called_station == PORT_PREFIX + port)
    return conditions


def search(session: Session, *, who: str = "", mac: str = "", ip: str = "", nas: str = "",
           port: str = "", stopped_too: bool = False,
           limit: int = 200) -> tuple[list[RadiusSession], bool]:
    """Sessions newest first: (at most ``limit`` of them, whether more matched); the
    criteria are ``matching``'s."""
    query = (select(RadiusSession)
             .where(*matching(who=who, mac=mac, ip=ip, nas=nas, port=port,
                              stopped_too=stopped_too))
             .order_by(RadiusSession.started_at.desc(), RadiusSession.id.desc()))
    found = list(session.scalars(query.limit(limit + 1)))
    return found[:limit], len(found) > limit


def end_at_nas(session: Session, nas: str, ip: str, now: datetime,
               cause: str = "NAS-Request") -> int:
    """Close the open sessions of address ``ip`` at ``nas``, which said the user is gone
    (a Portal-protocol AC's NTF_LOGOUT): its accounting Stop may be late or lost. The
    login records are left to accounting. How many were closed."""
    found = list(session.scalars(select(RadiusSession).where(*matching(ip=ip, nas=nas))))
    for row in found:
        row.stopped_at, row.terminate_cause = now, cause
    return len(found)


def count(session: Session, **criteria: Any) -> int:
    """How many sessions ``matching(**criteria)``."""
    return int(session.scalar(select(func.count()).select_from(RadiusSession)
                              .where(*matching(**criteria))) or 0)


def view(row: RadiusSession, *, masked: bool = True) -> dict[str, Any]:
    """A session as the staff web's JSON and the CLI show it; ``masked``: a voucher code
    shortened as ``shown`` does (the web's audience)."""
    def who(value: str) -> str:
        return shown(value, row.method) if masked else value

    return {
        "id": row.id, "session_id": row.session_id, "nas": row.nas,
        "identity": who(row.identity or row.username), "username": who(row.username),
        "method": row.method, "mac": normal_mac(row.calling_station) or row.calling_station,
        "ip": row.framed_ip, "called_station": row.called_station,
        "started_at": row.started_at.isoformat(timespec="seconds"),
        "updated_at": row.updated_at.isoformat(timespec="seconds"),
        "stopped_at": row.stopped_at.isoformat(timespec="seconds") if row.stopped_at else None,
        "minutes": row.session_time // 60, "input_octets": row.input_octets,
        "output_octets": row.output_octets, "state": "open" if row.stopped_at is None
        else "stopped", "terminate_cause": row.terminate_cause,
    }


def target(session: Session, box: SecretBox | None, live: RadiusSession) -> NasTarget:
    """The session's NAS as a Disconnect/CoA destination: one address, its shared secret,
    and the attributes the NAS matches the session on."""
    client = session.scalar(select(NasClient).where(NasClient.name == live.nas))
    if client is None:
        raise NotAddressable("nas_gone", N_("the session's NAS %(nas)r is no longer "
                                            "registered"), nas=live.nas)
    if box is None:
        raise NotAddressable("no_key", N_("NAS secrets are sealed with the secrets key, and "
                                          "there is none"))
    network = ipaddress.ip_network(client.address)
    if network.num_addresses != 1:
        raise NotAddressable("nas_network", N_("NAS %(nas)s is registered as a network "
                                               "(%(network)s); a CoA or Disconnect needs one "
                                               "address"), nas=client.name, network=str(network))
    identity = coa.session_identity(live.username, live.session_id, live.calling_station,
                                    live.framed_ip)
    return NasTarget(str(network.network_address), box.open(client.secret_sealed).encode(),
                     identity, client.name, client.vendor.value, client.policy)


def _disconnect(config: RadiusConfig, row: RadiusSession, where: NasTarget | str) -> Ended:
    """Send one Disconnect-Request and time it; an unaddressable session is reported."""
    if isinstance(where, str):
        return Ended(row.nas, row.session_id, False, where, 0.0)
    started = time.monotonic()
    result = coa.send(where.host, where.secret, Code.DISCONNECT_REQUEST, where.identity,
                      port=config.coa_port, source=coa.source_for(config))
    return Ended(row.nas, row.session_id, result.ok, result.message(),
                 time.monotonic() - started)


def _addressed(session: Session, box: SecretBox | None, row: RadiusSession
               ) -> tuple[RadiusSession, NasTarget | str]:
    try:
        return row, target(session, box, row)
    except NotAddressable as exc:
        return row, exc.message()


def end_all_of(store: Store, box: SecretBox | None, config: RadiusConfig,
               identity: str) -> list[Ended]:
    """Disconnect every live session of ``identity`` now: a Disconnect-Request (RFC 5176)
    to each session's NAS, all at once (one thread each), each timed from sending to the
    answer. A session whose NAS cannot be addressed is reported, not skipped silently.
    The sessions close when their NAS's Stop arrives."""
    with store.session() as session:
        live = list(session.scalars(select(RadiusSession).where(
            RadiusSession.identity == identity, RadiusSession.stopped_at.is_(None))))
        targets = [_addressed(session, box, row) for row in live]
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
        return list(pool.map(lambda pair: _disconnect(config, *pair), targets))


def end_one(store: Store, box: SecretBox | None, config: RadiusConfig,
            row_id: int) -> Ended | None:
    """Disconnect one open session by its row id (None: no such open session)."""
    with store.session() as session:
        row = session.get(RadiusSession, row_id)
        if row is None or row.stopped_at is not None:
            return None
        pair = _addressed(session, box, row)
    return _disconnect(config, *pair)


def open_of(session: Session, methods: tuple[str, ...], identity: str,
            limit: int) -> list[RadiusSession]:
    """The open sessions of these login methods (eap, mab...), of one identity unless
    it is "", newest first."""
    query = select(RadiusSession).where(RadiusSession.stopped_at.is_(None),
                                        RadiusSession.method.in_(methods))
    if identity:
        query = query.where(RadiusSession.identity == identity)
    return list(session.scalars(query.order_by(RadiusSession.started_at.desc(),
                                               RadiusSession.id.desc()).limit(limit)))
