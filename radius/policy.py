"""Who may log in, and on what terms: Access-Request in, Decision out.

Three kinds of credential, told apart by the User-Name:

- a **MAC address** (MAC authentication by the NAS): a device the portal remembered
  answers for its owner's phone number (:mod:`radius.remembered`);
- a **voucher code** (User-Name and password both the code; PAP, or CHAP as
  CoovaChilli's UAM sends it): :mod:`radius.vouchers`;
- anything else is a **phone number** with a one-time token the portal issued after an
  SMS or app login as the password: :mod:`radius.tokens`.

The NAS's policy profile (:mod:`radius.profiles`) sets the session terms. A person
(phone identity, so token and MAC logins) is also held to the profile's daily time and
traffic and to its Simultaneous-Use; a voucher carries its own limits (minutes from first
use, devices). Reply-Messages are worded in the profile's language.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from citynet.crypto import SecretBox
from citynet.db import Store, kept_lengths
from citynet.gates import GateAnswer, GateRequest, LoginGate
from citynet.macs import normal_mac
from radius import codec, guesses, remembered, tokens, usage, vouchers
from radius.decisions import REFUSED_ADMISSIONS, Decision, LoginAttempt, class_of
from radius.profiles import ProfileBook, Terms

MESSAGES = {  # English reason → Chinese wording
    "unknown voucher": "上网券无效",
    guesses.HELD: "上网券输入错误次数过多，请稍后再试",
    "voucher revoked": "上网券已作废",
    "voucher used up": "上网券已用完",
    vouchers.IN_USE: "上网券已在允许的设备上使用",
    "wrong password": "密码错误",
    "no valid login token": "登录凭证无效或已过期，请重新登录",
    "device not remembered": "设备未记住或已过期，请在认证页面登录",
    "MAC login from another device": "设备地址不符",
    "daily time used up": "今日上网时长已用完",
    "daily data used up": "今日上网流量已用完",
    "too many devices online": "同时在线的设备已达上限",
}


def message(reason: str, language: str) -> str:
    chinese = MESSAGES.get(reason, "")
    if language == "en" or not chinese:
        return reason
    return chinese if language == "zh-CN" else f"{reason} / {chinese}"


def reject(reason: str, method: str = "", language: str = "both",
           identity: str = "") -> Decision:
    return Decision(False, {"Reply-Message": message(reason, language)}, method=method,
                    reason=reason, identity=identity)


@dataclass(frozen=True)
class Allowance:
    """What is left of a person's day (None: no daily limit)."""

    seconds: int | None = None
    octets: int | None = None


def grant(terms: Terms, method: str, identity: str, seconds_left: int | None = None,
          octets_left: int | None = None) -> Decision:
    """An Access-Accept on the profile's terms, never longer than the credential allows."""
    attributes = session_terms(terms, seconds_left, octets_left)
    attributes["Class"] = class_of(method, identity)
    return Decision(True, attributes, method=method, identity=identity)


def session_terms(terms: Terms, seconds_left: int | None = None,
                  octets_left: int | None = None) -> dict[str, object]:
    """The limits a NAS enforces on one session: the profile's, and no more time or
    traffic than the credential has left (an Access-Accept's, or a whole CoA's)."""
    timeout = terms.max_session_minutes * 60
    if seconds_left is not None:
        timeout = min(timeout, seconds_left)
    attributes: dict[str, object] = {
        "Session-Timeout": timeout,
        "Idle-Timeout": terms.idle_timeout,
        "Acct-Interim-Interval": terms.interim_interval,
    }
    if terms.bandwidth_up_kbps:
        attributes["WISPr-Bandwidth-Max-Up"] = terms.bandwidth_up_kbps * 1000  # bit/s
    if terms.bandwidth_down_kbps:
        attributes["WISPr-Bandwidth-Max-Down"] = terms.bandwidth_down_kbps * 1000
    if octets_left is not None:
        attributes["ChilliSpot-Max-Total-Octets"] = octets_left & 0xFFFFFFFF
        if octets_left >> 32:
            attributes["ChilliSpot-Max-Total-Gigawords"] = octets_left >> 32
    return attributes


def proves(attempt: LoginAttempt, secret: str) -> bool:
    """The attempt's password is ``secret`` (PAP compared in constant time, or CHAP)."""
    if attempt.chap is not None:
        chap_password, challenge = attempt.chap
        return codec.chap_ok(chap_password, challenge, secret)
    given = attempt.password
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


def voucher_password_matches(attempt: LoginAttempt, code: str) -> bool:
    """A voucher's password is its code, as printed or as typed (case, dashes, spaces)."""
    if attempt.password is not None and vouchers.normalise(attempt.password) == code:
        return True
    return any(proves(attempt, spelling)
               for spelling in {code, vouchers.display(code), attempt.user})


@dataclass(frozen=True)
class Credential:
    """Which credential a User-Name is (the table in docs/radius.md)."""

    kind: str  # mac, voucher, mistyped voucher, token
    value: str  # the MAC in normal form, the voucher code, or the User-Name as given


def credential(user: str) -> Credential:
    mac = normal_mac(user) if len(user) >= 12 else ""
    if mac:
        return Credential("mac", mac)
    code = vouchers.normalise(user)
    if code is not None:
        return Credential("voucher", code)
    if vouchers.looks_like(user):  # a mistyped code, caught by its check symbol
        return Credential("mistyped voucher", user)
    return Credential("token", user)


# Why a User-Name that is nobody's is refused, by the credential it would be.
UNCLAIMED = {"mac": "device not remembered", "voucher": "unknown voucher",
             "mistyped voucher": "unknown voucher", "token": "no valid login token"}


MAC_COLUMN = kept_lengths(vouchers.VoucherDevice)["mac"]


def _device(attempt: LoginAttempt, nas: str) -> str:
    """The device a voucher login holds a slot for: its MAC; without one, the NAS's one
    unknown device — by the NAS's name while that fits a MAC's column (17), else by a
    digest of it (a NAS name may have 64 characters: the slot's row was refused)."""
    mac = normal_mac(attempt.calling_station)
    if mac:
        return mac
    unknown = f"unknown@{nas}"
    if len(unknown) <= MAC_COLUMN:
        return unknown
    digest = "unknown#"
    return digest + hashlib.sha256(nas.encode()).hexdigest()[:MAC_COLUMN - len(digest)]


BYPASS = "Call-Check"  # the Service-Type of a switch's MAC authentication bypass request


def gate_request(session: Session, attempt: LoginAttempt, nas: str, vendor: str,
                 now: datetime, zone: ZoneInfo, interim_interval: int) -> GateRequest:
    """What the gates see of a login; devices online counted from the live sessions."""
    mac = normal_mac(attempt.calling_station)

    def online(identity: str) -> int:
        return len(usage.online_devices(session, identity, now, interim_interval,
                                        besides=mac))

    return GateRequest(user=attempt.user, mac=mac, nas=nas, vendor=vendor,
                       eap=attempt.authenticated == "eap",
                       bypass=attempt.service_type == BYPASS,
                       local_time=now.astimezone(zone).time(), port=attempt.nas_port_id,
                       called_station=attempt.called_station, online=online,
                       certificate=attempt.client_certificate)


def from_gate(answer: GateAnswer) -> Decision:
    """A gate's answer as a Decision; an accept's Class names the method and identity
    (the NAS echoes it in accounting: the session is the person's, not the MAC's)."""
    attributes = dict(answer.attributes)
    if answer.accept:
        attributes["Class"] = class_of(answer.method, answer.identity)
    return Decision(answer.accept, attributes, method=answer.method, reason=answer.reason,
                    identity=answer.identity)


class Policy:
    def __init__(self, store: Store, box: SecretBox | None, zone: ZoneInfo,
                 profiles: ProfileBook | None = None,
                 gates: Sequence[LoginGate] = ()) -> None:
        """``gates``: other domains' say in 802.1X and MAC bypass logins (the registry's,
        citynet.gates), asked before citynet's own credentials."""
        self.store, self.box, self.zone = store, box, zone
        self.profiles = profiles or ProfileBook.of(store)
        self.gates = tuple(gates)
        # the NAS's vendor by name (the listener's registry, set by the service)
        self.vendor_of: Callable[[str], str] = lambda _nas: "other"
        # the newest wrong voucher code (recorded by any process before this one started,
        # then refused by this one): the hold's three counts are read only within a window
        # of it, so a voucher login costs them only while someone is guessing
        with store.session() as session:
            self._last_guess = guesses.newest(session)

    def decide_in(self, session: Session, attempt: LoginAttempt, nas: str,
                  profile: str = "default") -> Decision:
        """Decide in the caller's transaction: the record writer decides a batch of logins
        and writes their login records in one transaction, so a device slot a voucher
        login claims and the record of that login commit together (or neither does)."""
        terms = self.profiles.get(profile)
        now = datetime.now(UTC)
        if self.gates and (attempt.authenticated or attempt.service_type == BYPASS):
            request = gate_request(session, attempt, nas, self.vendor_of(nas), now,
                                   self.zone, terms.interim_interval)
            for gate in self.gates:
                answer = gate.admit(session, request)
                if answer is not None:
                    return from_gate(answer)
        if attempt.authenticated:  # FreeRADIUS's own (a site's EAP users): recorded only,
            # as post-auth recorded every login FreeRADIUS decided before there were gates
            return Decision(True, {}, method=f"fr:{attempt.authenticated}",
                            identity=attempt.user)
        given = credential(attempt.user)
        if given.kind == "mac":
            return self._mac_login(session, attempt, given.value, terms, now)
        if given.kind == "voucher":
            return self._voucher_login(session, attempt, given.value, nas, terms, now)
        if given.kind == "mistyped voucher":
            return reject(UNCLAIMED[given.kind], "voucher", terms.language, given.value)
        return self._token_login(session, attempt, terms, now)

    def refused_in(self, session: Session, attempt: LoginAttempt, nas: str,
                   decision: Decision) -> None:
        """An 802.1X login FreeRADIUS refused itself, recorded in this transaction: told to
        the gates (a wrong password inside PEAP or TTLS counts towards a hold there)."""
        if not self.gates or decision.accept or decision.method not in REFUSED_ADMISSIONS:
            return
        request = replace(gate_request(session, attempt, nas, self.vendor_of(nas),
                                       datetime.now(UTC), self.zone, 0), eap=True)
        for gate in self.gates:
            gate.refused(session, request, decision.reason)

    def prepare_in(self, session: Session, logins: Sequence[tuple[LoginAttempt, str]]) -> None:
        """Before the record writer decides a round's logins ((attempt, NAS) each) in
        this transaction: on PostgreSQL, what their voucher logins' decisions read
        first, in one statement (:func:`vouchers.look_up_known`). SQLite's reads are
        in-process: nothing to save."""
        if self.store.is_sqlite:
            return
        vouchers.look_up_known(session, [
            (given.value, _device(attempt, nas)) for attempt, nas in logins
            if (given := credential(attempt.user)).kind == "voucher"])

    # --- the three credentials -------------------------------------------------------

    def _mac_login(self, session: Session, attempt: LoginAttempt, mac: str, terms: Terms,
                   now: datetime) -> Decision:
        caller = normal_mac(attempt.calling_station)
        if caller and caller != mac:
            return reject("MAC login from another device", "mac", terms.language, mac)
        identity = remembered.owner(session, mac, now)
        if identity is None:
            return reject("device not remembered", "mac", terms.language, mac)
        return self._on_terms(session, "mac", identity, mac, terms, now)

    def _token_login(self, session: Session, attempt: LoginAttempt, terms: Terms,
                     now: datetime) -> Decision:
        identity = attempt.user.strip()
        if not identity or self.box is None:
            return reject("no valid login token", "token", terms.language, identity)
        mac = normal_mac(attempt.calling_station)
        token = tokens.find(session, self.box, identity, mac,
                            lambda clear: proves(attempt, clear), now)
        if token is None:
            return reject("no valid login token", "token", terms.language, identity)
        decision = self._on_terms(session, token.method, identity, mac, terms, now)
        if decision.accept and not tokens.spend(session, token, now):
            return reject("no valid login token", token.method, terms.language, identity)
        return decision

    def _voucher_login(self, session: Session, attempt: LoginAttempt, code: str, nas: str,
                       terms: Terms, now: datetime) -> Decision:
        # a device, address or NAS with too many wrong codes waits, right code or not:
        # the portal holds them too, but a client may post to the NAS's logon directly
        if now - self._last_guess < guesses.WINDOW and guesses.held(
                session, nas, normal_mac(attempt.calling_station), attempt.framed_ip,
                now) is not None:
            return reject(guesses.HELD, "voucher", terms.language, code)
        decision = self._redeem(session, attempt, code, nas, terms, now)
        if decision.reason in guesses.GUESSES:
            self._last_guess = now
        return decision

    def _redeem(self, session: Session, attempt: LoginAttempt, code: str, nas: str,
                terms: Terms, now: datetime) -> Decision:
        if not voucher_password_matches(attempt, code):
            return reject("wrong password", "voucher", terms.language, code)
        mac = _device(attempt, nas)
        sqlite = self.store.is_sqlite
        result = vouchers.redeem(session, code, mac, now, sqlite)
        if result.reason == vouchers.IN_USE and not sqlite:
            # PostgreSQL (read committed): the last slot may have gone to this same device
            # in a concurrent first login that committed while we waited for the row; the
            # next statement sees it. (SQLite: the writer holds the store's write lock.)
            result = vouchers.redeem(session, code, mac, now, sqlite)
        if not result.ok:
            return reject(result.reason, "voucher", terms.language, code)
        return grant(terms, "voucher", code, seconds_left=result.seconds_left)

    # --- shared ----------------------------------------------------------------------

    def _on_terms(self, session: Session, method: str, identity: str, mac: str,
                  terms: Terms, now: datetime) -> Decision:
        """A person's login: their day's allowance and devices online, then the grant."""
        left = Allowance()
        if terms.daily_minutes or terms.daily_megabytes:
            used = usage.today(session, identity, usage.day_start(now, self.zone))
            if terms.daily_minutes:
                left = Allowance(seconds=terms.daily_seconds - used.seconds)
                if left.seconds is not None and left.seconds <= 0:
                    return reject("daily time used up", method, terms.language, identity)
            if terms.daily_megabytes:
                left = Allowance(left.seconds, terms.daily_octets - used.octets)
                if left.octets is not None and left.octets <= 0:
                    return reject("daily data used up", method, terms.language, identity)
        if terms.simultaneous_use:
            online = usage.online_devices(session, identity, now, terms.interim_interval,
                                          besides=mac)
            if len(online) >= terms.simultaneous_use:
                return reject("too many devices online", method, terms.language, identity)
        return grant(terms, method, identity, left.seconds, left.octets)
