"""What network admission gives the FreeRADIUS front (citynet/tunnel.py's contract): the
people behind PEAP and TTLS logins, and the ``eap`` module with the district CA's files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import exists, select

from admission import authority, eap, passwords
from admission.models import MabEntry, Person
from admission.settings import NacConfig
from citynet.catalogs import N_
from citynet.crypto import SecretBox
from citynet.errors import CitynetError
from citynet.runtime import Runtime
from citynet.tunnel import INNER_SERVER, EapPart, TunnelAnswer, TunnelLogin, TunnelSource

TLS_DIR = "eap"  # under the FreeRADIUS config directory


def tunnel_source(runtime: Runtime, box: SecretBox | None) -> TunnelSource:
    """Answer each tunnel login from the store (a read by the person's name and one of
    their password hold, on the RADIUS service's loop: on a pooled connection, no ORM
    session)."""
    nac = runtime.config.section(NacConfig)
    peap_roles, limits = frozenset(nac.peap_roles), nac.password_limits
    store = runtime.store

    def answer(login: TunnelLogin) -> TunnelAnswer:
        with store.reading() as connection:
            return passwords.tunnel_login(connection, box, login, peap_roles, limits)

    return answer


def freeradius_eap(runtime: Runtime, out: Path) -> EapPart | None:
    """The eap module, server certificate, key and trust directory (with a new CRL) under
    ``out/eap``, once anybody may be admitted: a person or a MAC bypass entry exists (the
    switch ports that bypass run 802.1X beside it), or ``nac.enabled``."""
    with runtime.store.session() as session:
        anyone = bool(session.scalar(select(exists().where(Person.id.is_not(None)))) or
                      session.scalar(select(exists().where(MabEntry.id.is_not(None)))))
        if not anyone and not runtime.config.section(NacConfig).enabled:
            return None
        box = runtime.box()
        if box is None:
            raise CitynetError(N_("no secrets key is configured, so no CA either: 802.1X "
                                  "needs the district CA (`citynet nac ca init`)"))
        ca_pair, server = authority.authority_keys(session, box)
        number, crl = authority.publish_crl(session, box, datetime.now(UTC))
        files = eap.write_config(out / TLS_DIR, ca_pair.cert_pem, server.cert_pem,
                                 server.key_pem, number, crl, INNER_SERVER,
                                 by_citynet=True)
        session.commit()
    # citynet's post-auth names the person by the certificate (admission.gate)
    module = eap.eap_module(files, INNER_SERVER, by_citynet=True)
    return EapPart(module, (files.server_cert, files.server_key, files.trust_dir))
