"""Admission's login gate (citynet.gates): 802.1X logins and MAC bypass requests decided
on the people, the MAC list and ``[nac]`` (the rules: admission.policy)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from admission import authority, mab, people
from admission.choices import PersonStatus
from admission.policy import PersonView, admit_device, admit_person, device_limit
from admission.settings import NacConfig
from citynet.gates import GateAnswer, GateRequest


class AdmissionGate:
    def __init__(self, config: NacConfig) -> None:
        self.config = config

    def admit(self, session: Session, request: GateRequest) -> GateAnswer | None:
        """EAP logins are all ours once any role has a policy; a bypass request when
        the MAC is listed, or when the site lands refused logins in a remediation VLAN.
        An unlisted MAC is noted (the unknown-MAC report) and left to the RADIUS domain
        (a hotspot's remembered phone), which refuses it if it is nobody's."""
        if request.eap:
            # no role has a policy: admission is not in use, the site's EAP is its own
            return self._person(session, request) if self.config.roles else None
        if not request.bypass:
            return None
        mac = mab.normal(request.user)
        if not mac or (request.mac and request.mac != mac):
            return None
        profile = mab.profile_of(session, mac)
        if profile is None:
            mab.note_unknown(session, mab.Seen(mac, request.nas, request.port),
                             datetime.now(UTC))
            if not self.config.remediation_at(request.nas):
                return None
        return admit_device(mac, profile, self.config, request.vendor, request.nas)

    def _person(self, session: Session, request: GateRequest) -> GateAnswer:
        row = people.at_login(session, request.user)
        person = None if row is None else PersonView(
            row.username, row.role.value, row.status is PersonStatus.ACTIVE)
        # the live sessions are read only where the role has a limit to hold them to
        # (admit_person reads ``online`` for nothing else): a read per login saved
        online = request.online(row.username) if row is not None and device_limit(
            self.config, row.role.value) else 0
        # checked here on every EAP-TLS login: a revoke counts at once, before FreeRADIUS
        # has a CRL that lists it
        revoked = bool(request.certificate) and authority.is_revoked(session,
                                                                      request.certificate)
        return admit_person(person, request.user, self.config, request.vendor, request.nas,
                            request.local_time, online, revoked)
