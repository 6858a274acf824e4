"""After the login: the success page, the device's status, logout, forgetting a
remembered device, and enrolling an authenticator app. The original URL becomes a link
only when it is plain http(s) and the hand-off was signed."""

from __future__ import annotations

from datetime import UTC, datetime

import segno
from flask import abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import staff
from citynet.web import store
from portal import capport, offers, phones, totp, uam, visit
from portal.acclient import LogoutOutcome
from radius import grants, remembered
from radius.models import RadiusSession


@visit.blueprint.get("/success")
def success() -> BaseResponse | str:
    handoff = visit.handoff()
    if not _logged_in(handoff):  # "you are online" only when the NAS or AC said so
        return redirect(url_for(".arrive"))
    link = uam.safe_link(handoff.userurl) if handoff else ""
    phone = session.get("phone")
    can_enrol = False
    if isinstance(phone, str) and _may_enrol():
        with store().session() as db:
            can_enrol = not totp.enrolled(db, phone)
    return render_template("portal/success.html", link=link, can_enrol=can_enrol,
                           offers=offers.shown())


def _logged_in(handoff: uam.Handoff | None) -> bool:
    """The NAS sent this browser back with ``res=success`` (UAM), or this session logged
    this address in through a Portal-protocol AC (it answered the login before the
    redirect here), whatever the method: a voucher login has no phone."""
    if handoff is None:
        return False
    return handoff.res == "success" or (
        bool(handoff.ac) and session.get(visit.AC_ONLINE) == handoff.ip)


@visit.blueprint.get("/status")
def status() -> str:
    handoff = visit.handoff()
    mac = capport.device_mac(handoff)  # behind an AC, a read of the store: once a page
    live = _live_session(handoff, mac)
    terms = visit.terms(handoff)
    now = datetime.now(UTC)
    with store().session() as db:
        owner = remembered.owner(db, mac, now) if mac else None
        left = grants.left(db, live, terms, visit.portal().zone, now) if live else None
    return render_template("portal/status.html", live=live, left=left,
                           remembered_device=owner is not None, handoff=handoff,
                           randomised=bool(mac) and remembered.randomised(mac),
                           forgotten=session.pop("forgotten", False))


def _live_session(handoff: uam.Handoff | None, mac: str) -> RadiusSession | None:
    """The device's open session at its NAS (``mac``: as the NAS vouches for it)."""
    if handoff is None or not mac:
        return None
    with store().session() as db:
        return capport.open_session(db, capport.Asker(mac=mac, nas=handoff.nasid),
                                    datetime.now(UTC), visit.interim_of)


@visit.blueprint.post("/logout")
def logout() -> BaseResponse:
    handoff = visit.need_handoff(login=False)
    if handoff.ac:  # a Portal-protocol AC: the portal asks it to end the session
        return _logout_at_ac(handoff)
    if not handoff.uamip:  # a web-auth controller: it has its own logout page
        abort(409, "log out on the hotspot's own page")
    session.pop("phone", None)
    session.pop("may_enrol", None)
    return redirect(uam.logoff_url(handoff), code=303)  # the NAS ends the session


def _logout_at_ac(handoff: uam.Handoff) -> BaseResponse:
    portal = visit.portal()
    endpoint = portal.acs.get().by_name(handoff.ac)
    if endpoint is None:
        abort(503, "this hotspot's AC is no longer registered")
    answer = portal.ac_client.logout(endpoint, handoff.ip)
    if answer.outcome == LogoutOutcome.NO_ANSWER:
        abort(503, "the hotspot did not answer: try again")
    session.pop(visit.AC_ONLINE, None)
    session.pop("phone", None)
    session.pop("may_enrol", None)
    return redirect(url_for(".logged_out"), code=303)


@visit.blueprint.post("/forget")
def forget() -> BaseResponse:
    handoff = visit.need_handoff(login=False)
    mac = capport.device_mac(handoff)
    if mac:
        with store().session() as db:
            remembered.forget(db, mac, "forgotten by its owner")
    session["forgotten"] = True
    return redirect(url_for(".status"))


@visit.blueprint.get("/logged-out")
def logged_out() -> str:
    return render_template("portal/message.html", message="logged_out")


def _may_enrol() -> bool:
    """This deployment invites app enrolment, and this session's number was just proven
    by SMS."""
    return visit.portal().config.portal.app_enrolment and bool(session.get("may_enrol"))


@visit.blueprint.get("/enrol")
def enrol() -> BaseResponse | str:
    phone = session.get("phone")
    if not phone or not _may_enrol():
        return redirect(url_for(".login"))
    # a reload shows the secret an app may already have scanned, not a new one
    secret = session.get("enrolment") or totp.new_secret()
    session["enrolment"] = secret
    return _enrol_page(phone, secret)


def _enrol_page(phone: str, secret: str, error: str = "") -> str:
    uri = totp.uri(secret, phones.masked(phone))
    qr = segno.make(uri, error="m").svg_inline(scale=4)
    return render_template("portal/enrol.html", qr=qr, typed=staff.typed_secret(uri),
                           error=error)


@visit.blueprint.post("/enrol")
def enrol_confirm() -> BaseResponse | str | tuple[str, int]:
    phone, secret = session.get("phone"), session.get("enrolment")
    if not phone or not secret or not _may_enrol():
        return redirect(url_for(".login"))
    with store().session() as db:
        done = totp.confirm(db, visit.box(), phone, secret, request.form.get("code", ""),
                            datetime.now(UTC))
    if not done:
        return _enrol_page(phone, secret, "wrong code"), 400
    session.pop("enrolment", None)
    return render_template("portal/message.html", message="enrolled")

