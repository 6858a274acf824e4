"""The login methods: voucher, SMS code, authenticator app and one tap for a remembered
device, each ending in a hand-over to the NAS's logon (UAM ``/logon`` with a CHAP
response over a one-time credential, or a controller's login form)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import (
    after_this_request,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import metrics
from citynet.macs import normal_mac
from citynet.typed import normalised
from citynet.web import store
from portal import (
    aclogin,
    capport,
    consent,
    device_cookie,
    formauth,
    offers,
    phones,
    sms,
    totp,
    uam,
    visit,
)
from portal.acclient import LoginOutcome
from radius import guesses, remembered, tokens, vouchers

log = logging.getLogger(__name__)
# handed to the NAS (its RADIUS decides: citynet_radius_decisions)
LOGINS = metrics.counter("citynet_portal_logins", "portal logins handed to the NAS, by "
                         "method (voucher, sms, totp, mac)", ["method"])

def _remembered_owner(handoff: uam.Handoff | None) -> str | None:
    """Whose remembered device this browser is: the browser shows the cookie set at the
    login that remembered it, for the MAC its NAS vouches for (a cloned MAC in a fresh
    browser is nobody's here). A Portal-protocol AC vouches for no MAC before its login:
    there the cookie checks the redirect's, and the login's RADIUS token is bound to it,
    so a MAC typed into the redirect fails at the AC's own Access-Request."""
    mac = capport.device_mac(handoff) or (
        normal_mac(handoff.mac) if handoff is not None and handoff.ac else "")
    device_id = device_cookie.remembrance(visit.portal().device_key,
                                          request.cookies.get(device_cookie.NAME, ""), mac)
    if device_id is None:
        return None
    with store().session() as db:
        return remembered.owner(db, mac, datetime.now(UTC), device_id)


def _keep_device_cookie(device: remembered.RememberedDevice) -> None:
    """Give this browser the cookie one tap will ask for, as long as the remembrance."""
    cookie = device_cookie.value(visit.portal().device_key, device.mac, device.id)
    seconds = int((device.expires_at - device.created_at).total_seconds())

    @after_this_request
    def keep(response: BaseResponse) -> BaseResponse:
        response.set_cookie(device_cookie.NAME, cookie, max_age=seconds,
                            path=visit.blueprint.url_prefix, secure=request.is_secure,
                            httponly=True, samesite="Lax")
        return response


@visit.blueprint.get("/login")
def login() -> str:
    handoff = visit.handoff()
    owner = _remembered_owner(handoff)
    return render_template("portal/login.html", handoff=handoff,
                           failure=session.pop("failure", ""), remembered_owner=owner,
                           masked=phones.masked(owner) if owner else "", offers=offers.shown(),
                           methods=_methods(handoff))


def _methods(handoff: uam.Handoff | None) -> list[str]:
    """The login methods this hotspot's page offers, in its order (config)."""
    return list(visit.portal().config.portal.methods_at(handoff.nasid if handoff else ""))



@visit.blueprint.post("/voucher")
def voucher() -> BaseResponse | tuple[str, int]:
    handoff = visit.need_handoff()
    if not request.form.get("consent"):
        return _login_error("need_consent")
    # the device's MAC and address only as a NAS vouched for them (a signed hand-off; an
    # AC's checked address and accounted MAC): an unsigned one could name anyone's, or a
    # new one at each try; RADIUS holds by what the controller itself sends
    client_ip = handoff.ip if handoff.address_vouched else ""
    code = vouchers.normalise(request.form.get("code", ""))
    # the hold check and the consent on one connection, each statement committed by
    # itself (Store.statement): a unit of work of its own for a read of one query cost
    # as much as the query
    with store().statement() as db:
        held = guesses.held(db, handoff.nasid, capport.device_mac(handoff), client_ip,
                            datetime.now(UTC))
        if held is None and code is not None:
            consent.record(db, code, bool(request.form.get("location")), datetime.now(UTC))
    if held is not None:
        log.info("voucher tries held for %s (NAS %s): %d s", held.by, handoff.nasid,
                 held.retry_after)
        page = current_app.make_response(
            _login_error(f"vouchers_held_{held.by}", 429, minutes=held.minutes))
        page.headers["Retry-After"] = str(held.retry_after)
        return page
    if code is None:
        return _login_error("bad_voucher")
    # the NAS asks RADIUS, which redeems the voucher; the code is user name and password
    LOGINS.labels("voucher").inc()
    return _to_logon(handoff, code, code)


@visit.blueprint.get("/sms")
def sms_form() -> str:
    return render_template("portal/sms.html", handoff=visit.handoff(), sent=None)


@visit.blueprint.post("/sms")
def sms_request() -> BaseResponse | tuple[str, int]:
    handoff = visit.need_handoff()
    if not request.form.get("consent"):
        return _sms_error("need_consent")
    phone = phones.mainland_mobile(request.form.get("phone", ""))
    if phone is None:
        return _sms_error("bad_phone")
    portal = visit.portal()
    asked = sms.Request(phone, visit.attempt(), request.remote_addr or "",
                        normal_mac(handoff.mac))
    now = datetime.now(UTC)
    with store().session() as db:
        issued = sms.issue(db, portal.code_key, asked, portal.limits, now,
                           resend=bool(request.form.get("resend")))
    if issued.status == "over budget":
        log.warning("SMS budget spent (%s) for %s from %s", issued.budget,
                    phones.masked(phone), request.remote_addr)
        return _sms_error("over budget", 429)
    if issued.status == "cooldown":
        session["phone_pending"] = phone
        return _sms_error("cooldown", 429, seconds=issued.wait_seconds)
    if issued.status == "sent":
        portal.sender.submit(phone, sms.text(issued.code, portal.limits.code_minutes))
    session["phone_pending"] = phone
    session["sms_status"] = issued.status
    session["location_consent"] = bool(request.form.get("location"))
    return redirect(url_for(".sms_code"))


@visit.blueprint.get("/sms/code")
def sms_code() -> BaseResponse | str:
    phone = session.get("phone_pending")
    if not phone:
        return redirect(url_for(".sms_form"))
    portal = visit.portal()
    shown = portal.outbox.recent() if portal.config.portal.show_outbox else []
    return render_template("portal/code.html", masked=phones.masked(phone),
                           status=session.get("sms_status", "sent"), outbox=shown,
                           terms=visit.terms(visit.handoff()), handoff=visit.handoff(),
                           resend_wait=_resend_wait(phone))


def _resend_wait(phone: str) -> int:
    """Seconds until this attempt may ask for a new code: its button waits as long."""
    handoff = visit.handoff()
    asked = sms.Request(phone, visit.attempt(), request.remote_addr or "",
                        normal_mac(handoff.mac) if handoff else "")
    with store().session() as db:
        return sms.resend_wait(db, asked, visit.portal().limits, datetime.now(UTC))


@visit.blueprint.post("/sms/code")
def sms_verify() -> BaseResponse | tuple[str, int]:
    handoff = visit.need_handoff()
    phone = session.get("phone_pending")
    if not phone:
        return redirect(url_for(".sms_form"))
    portal = visit.portal()
    code = normalised(request.form.get("code", ""), " ")
    with store().session() as db:
        verdict = sms.verify(db, portal.code_key, sms.Request(
            phone, visit.attempt(), request.remote_addr or "", normal_mac(handoff.mac)), code,
            datetime.now(UTC))
    if verdict != "ok":
        return render_template("portal/code.html", masked=phones.masked(phone),
                               status="", error=verdict, outbox=[], terms=visit.terms(handoff),
                               handoff=handoff, resend_wait=_resend_wait(phone)), 400
    return _logged_in(handoff, phone, "sms")


@visit.blueprint.get("/app")
def app_form() -> str:
    return render_template("portal/app.html", handoff=visit.handoff())


@visit.blueprint.post("/app")
def app_login() -> BaseResponse | tuple[str, int]:
    handoff = visit.need_handoff()
    if not request.form.get("consent"):
        return render_template("portal/app.html", handoff=handoff,
                               error="need_consent"), 400
    phone = phones.mainland_mobile(request.form.get("phone", ""))
    if phone is None:
        return render_template("portal/app.html", handoff=handoff, error="bad_phone"), 400
    with store().session() as db:
        verdict = totp.verify(db, visit.box(), phone, request.form.get("code", ""),
                              datetime.now(UTC))
    if verdict != "ok":
        log.info("app login refused for %s: %s", phones.masked(phone), verdict)
        return render_template("portal/app.html", handoff=handoff, error=verdict), 400
    return _logged_in(handoff, phone, "totp")


@visit.blueprint.post("/device")
def device_login() -> BaseResponse | tuple[str, int]:
    """One tap: this device's MAC (signed by the NAS) is remembered for a person, and this
    browser holds the cookie of that remembrance."""
    handoff = visit.need_handoff()
    owner = _remembered_owner(handoff)
    if owner is None:
        return _login_error("device_not_remembered")
    return _logged_in(handoff, owner, "mac", remember=False)


def _logged_in(handoff: uam.Handoff, phone: str, method: str,
               remember: bool | None = None) -> BaseResponse | tuple[str, int]:
    """A verified person: optionally remember the device, issue the one-time RADIUS token
    the NAS will present, and send the browser to the NAS's logon."""
    box = visit.box()
    mac = normal_mac(handoff.mac)
    terms = visit.terms(handoff)
    wants = bool(request.form.get("remember")) if remember is None else remember
    # the location box is on this form, or (SMS) on the number form of this attempt
    location = bool(request.form.get("location")) or (
        method == "sms" and bool(session.get("location_consent")))
    with store().session() as db:
        if method != "mac":  # a one-tap login rests on the consent given when remembered
            consent.record(db, phone, location, datetime.now(UTC))
        if wants and mac and terms.remember_days and handoff.signed:
            _keep_device_cookie(remembered.remember(db, mac, phone, terms.remember_days))
        token = tokens.issue(db, box, phone, method, mac)  # method goes into the records
    # an AC's redirect vouches for no MAC: remembered once the AC logged it in, its own
    # Access-Request having carried the MAC the token is bound to
    remember_at_ac = (phone, terms.remember_days) if (
        wants and mac and terms.remember_days and handoff.ac) else None
    visit.renew_session()
    session["phone"] = phone
    # enrolling an authenticator app needs a number just proven by SMS, not a remembered
    # device (a MAC can be cloned) nor the app itself
    session["may_enrol"] = method == "sms"
    LOGINS.labels(method).inc()
    return _to_logon(handoff, phone, token, remember_at_ac)


def _to_logon(handoff: uam.Handoff, username: str, password: str,
              remember_at_ac: tuple[str, int] | None = None) -> BaseResponse | tuple[str, int]:
    """Hand the login to the NAS: UAM's /logon with a CHAP response, a Portal-protocol
    AC's login over UDP (``remember_at_ac``: the phone and days to remember the device
    for once the AC logged it in), or — for a controller with its own web-auth — a form
    the browser posts to its login URL."""
    if handoff.ac:
        return _through_ac(handoff, username, password, remember_at_ac)
    if handoff.login_url:
        return render_template("portal/handover.html", action=handoff.login_url,
                               fields=formauth.fields(handoff, username, password)), 200
    response = uam.chap_response(handoff.challenge, password, visit.uam_secret(handoff.nasid))
    return redirect(uam.logon_url(handoff, username, response, handoff.userurl), code=303)


# what the person is told when the AC does not log them in (portal/i18n.py keys)
AC_REFUSALS = {LoginOutcome.REJECTED: "ac_rejected", LoginOutcome.BUSY: "ac_busy",
               LoginOutcome.NO_ANSWER: "ac_no_answer", LoginOutcome.FAILED: "ac_failed"}


def _through_ac(handoff: uam.Handoff, username: str, password: str,
                remember: tuple[str, int] | None) -> BaseResponse | tuple[str, int]:
    """The portal logs the device in at its AC (Portal protocol); the AC asks RADIUS."""
    portal = visit.portal()
    endpoint = portal.acs.get().by_name(handoff.ac)
    if endpoint is None:
        log.warning("portal: AC %s is no longer registered for the Portal protocol",
                    handoff.ac)
        return _login_error("ac_failed", 503)
    device = capport.Asker(ip=handoff.ip, mac=capport.device_mac(handoff), nas=handoff.nasid)
    answer = aclogin.login(portal.ac_client, endpoint, device, username, password,
                           user_mac=_mac_octets(handoff.mac), store=store(),
                           interim_of=visit.interim_of)
    if answer.outcome == LoginOutcome.LOGGED_IN:
        session[visit.AC_ONLINE] = handoff.ip  # the success page may say so (online.py)
        mac = normal_mac(handoff.mac)
        # "already online" answered without RADIUS: then only the session the AC
        # accounted says the MAC (none yet: RADIUS took the token bound to this one)
        if remember is not None and capport.device_mac(handoff) in ("", mac):
            with store().session() as db:
                _keep_device_cookie(remembered.remember(db, mac, *remember))
        return redirect(url_for(".success"), code=303)
    log.info("portal: AC %s did not log %s in: %s %s", handoff.ac, handoff.ip,
             answer.outcome, answer.text[:200])
    status = 503 if answer.outcome == LoginOutcome.NO_ANSWER else 400
    return _login_error(AC_REFUSALS.get(LoginOutcome(answer.outcome), "ac_failed"), status)


def _mac_octets(mac: str) -> bytes | None:
    """The six octets of a MAC as the redirect spelt it, for the AC's Session-ID."""
    digits = normal_mac(mac).replace("-", "")
    return bytes.fromhex(digits) if len(digits) == 12 else None


def _login_error(key: str, status: int = 400, **values: object) -> tuple[str, int]:
    return render_template("portal/login.html", handoff=visit.handoff(), error=key,
                           error_values=values, failure="", remembered_owner=None,
                           masked="", methods=_methods(visit.handoff())), status


def _sms_error(key: str, status: int = 400, **values: object) -> tuple[str, int]:
    return render_template("portal/sms.html", handoff=visit.handoff(), error=key,
                           error_values=values, sent=None), status

