"""Admission's login gate (citynet.gates): 802.1X logins and MAC bypass requests decided
on the people, the MAC list and ``[nac]`` (the rules: admission.policy)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from admission import authority, holds, mab, people
from admission.choices import PersonStatus
from admission.policy import (
    PersonView,
    admit_device,
    admit_holder,
    admit_person,
    device_limit,
    names_holder,
    reject,
)
from admission.settings import NacConfig
from citynet.gates import GateAnswer, GateRequest


class AdmissionGate:
    def __init__(self, config: NacConfig) -> None:
        self.config = config

    def admit(self, session: Session, request: GateRequest) -> GateAnswer | None:
        """EAP logins are all ours once any role has a policy, and an EAP-TLS login with
        a certificate of the district CA whatever the roles; a bypass request when
        the MAC is listed, or when the site lands refused logins in a remediation VLAN.
        An unlisted MAC is noted (the unknown-MAC report) and left to the RADIUS domain
        (a hotspot's remembered phone), which refuses it if it is nobody's."""
        if request.eap:
            # no role has a policy: admission is not in use, the site's EAP is its own —
            # but a certificate of the district CA is citynet's to check whatever the
            # roles (FreeRADIUS behind citynet checks neither its name nor its CRL)
            if not self.config.roles and not request.certificate:
                if self.config.password_limits.any:  # (a read only where a hold counts)
                    self._right_password(session, request,
                                         people.at_login(session, request.user))
                return None
            return self._person(session, request)
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
        user, revoked = request.user, False
        if request.certificate:
            # EAP-TLS: the certificate says who it is, read on every login so that a
            # revoke counts at once, before FreeRADIUS has a CRL that lists it
            held = authority.holder(session, request.certificate)
            if held is None:
                return reject("certificate not issued here", "eap", user)
            if not names_holder(user, held.username):
                # recorded under the holder: the key proves who is there, not the name
                return reject("identity does not match certificate", "eap", held.username)
            user, revoked = held.username, held.revoked
        row = people.at_login(session, user)
        if row is not None:  # as stored: a name typed in another case is the same person
            user = row.username
        if not request.certificate:  # whatever policy says now, the password was right
            self._right_password(session, request, row)
        person = None if row is None else PersonView(
            row.username, row.role.value, row.status is PersonStatus.ACTIVE)
        # the live sessions are read only where the role has a limit to hold them to
        # (admit_person reads ``online`` for nothing else): a read per login saved
        online = request.online(row.username) if row is not None and device_limit(
            self.config, row.role.value) else 0
        answer = admit_person(person, user, self.config, request.vendor, request.nas,
                              request.local_time, online, revoked) if self.config.roles \
            else admit_holder(person, user, revoked)
        if answer.accept and user != request.user:
            # the NAS's accounting then names the person, not the anonymous identity
            # (RFC 2865 5.1: a User-Name in the Access-Accept is the one to use)
            return replace(answer, attributes={**answer.attributes, "User-Name": user})
        return answer

    def _right_password(self, session: Session, request: GateRequest,
                        row: people.AtLogin | None) -> None:
        """A PEAP or TTLS login FreeRADIUS authenticated: no guess; the person's wrong
        passwords (theirs and this device's) start again."""
        if row is not None and self.config.password_limits.any:
            holds.clear(session, row.username, request.mac)

    def refused(self, session: Session, request: GateRequest, reason: str) -> None:
        """A wrong password inside PEAP or TTLS counts towards the person's hold
        (admission.holds); a name that is nobody's has no password to guess."""
        if reason != holds.WRONG_PASSWORD or not self.config.password_limits.any:
            return
        row = people.at_login(session, request.user)
        if row is not None:
            holds.count_failure(session, row.username, request.mac,
                                self.config.password_limits, datetime.now(UTC))
