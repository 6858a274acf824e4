"""The captive portal: what a person on the district's free WiFi sees.

Flow (CoovaChilli UAM, :mod:`portal.uam`): the NAS redirects the browser here with a
signed hand-off → the person proves who they are (voucher, SMS code, authenticator app,
or one tap for a remembered device) → the portal sends the browser to the NAS's
``/logon`` with a CHAP response over a one-time credential → the NAS asks RADIUS → the
NAS sends the browser back with ``res=success`` (or ``failed``).

Works without JavaScript, in no frame, with one first-party cookie (the session: the
hand-off, a CSRF token, the login attempt). Every POST checks the CSRF token; the session
is renewed at login. Nothing the NAS sent is echoed unescaped; the original URL becomes
a link only when it is plain http(s) and the hand-off was signed.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import segno
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    after_this_request,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import csrf, languages, metrics, staff
from citynet.cache import Reloading
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.logs import Throttle
from citynet.typed import normalised
from citynet.web import store
from inventory.models import NasClient
from portal import (
    capport,
    consent,
    countdown,
    device_cookie,
    formauth,
    i18n,
    merchants,
    phones,
    sms,
    totp,
    uam,
)
from portal.senders import Dispatcher, HttpGateway, Outbox, Sender
from radius import grants, guesses, remembered, tokens, vouchers
from radius.models import RadiusSession
from radius.profiles import DEFAULT, ProfileBook, Terms
from radius.records import normal_mac

log = logging.getLogger(__name__)
# handed to the NAS (its RADIUS decides: citynet_radius_decisions)
LOGINS = metrics.counter("citynet_portal_logins", "portal logins handed to the NAS, by "
                         "method (voucher, sms, totp, mac)", ["method"])

blueprint = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")

CAPTIVE_JSON = "application/captive+json"


@dataclass
class Portal:
    """What the portal needs beyond the store: SMS, limits, keys."""

    config: Config
    outbox: Outbox
    sender: Dispatcher
    limits: sms.Limits
    code_key: bytes  # HMAC key for SMS codes at rest
    device_key: bytes  # signs remembered devices' cookies
    nases: Reloading[dict[str, NasFacts]]
    profiles: ProfileBook
    showcase: merchants.Showcase
    zone: ZoneInfo  # the district's day, for daily allowances
    # NAS addresses asking the RFC 8908 API without naming the client: warned of hourly
    unnamed_askers: Throttle = field(default_factory=lambda: Throttle(every=3600))


def setup(app: Flask, config: Config) -> None:
    outbox = Outbox(Path(config.data_path) / "sms-outbox.jsonl")
    portal = config.portal
    store_of_app: Store = app.extensions["citynet.store"]
    gateway: Sender = outbox
    if portal.sms_gateway == "http":
        gateway = HttpGateway(portal.sms_urls, portal.sms_token.get_secret_value())
    key = app.secret_key if isinstance(app.secret_key, bytes) else str(
        app.secret_key).encode()
    app.extensions["citynet.portal"] = Portal(
        config=config, outbox=outbox, sender=Dispatcher(gateway),
        limits=sms.Limits(code_minutes=portal.code_minutes,
                          resend_seconds=portal.resend_seconds,
                          per_phone_day=portal.per_phone_day, per_ip_day=portal.per_ip_day,
                          per_mac_day=portal.per_mac_day,
                          per_prefix_day=portal.per_prefix_day,
                          global_day=portal.global_day),
        code_key=hmac.new(key, b"portal sms codes", "sha256").digest(),
        device_key=hmac.new(key, b"portal device cookies", "sha256").digest(),
        nases=Reloading(_nas_facts(store_of_app, app.extensions.get("citynet.box")),
                        "NAS facts"),
        profiles=ProfileBook.of(store_of_app),
        showcase=merchants.Showcase(store_of_app), zone=ZoneInfo(config.radius.timezone))


def _portal() -> Portal:
    found: Portal = current_app.extensions["citynet.portal"]
    return found


def _box() -> SecretBox:
    box: SecretBox | None = current_app.extensions.get("citynet.box")
    if box is None:
        abort(503, "the portal needs the secrets key (tokens and UAM secrets are sealed)")
    return box


# --- session, language, CSRF ---------------------------------------------------------

CSRF_KEY = "csrf"  # the portal's token in the session, apart from the staff pages'


@blueprint.before_request
def _before() -> None:
    # the language switch's ?lang= is the person's choice; a hand-off's is the NAS's
    if "res" not in request.args and languages.switch("lang", languages.PORTAL_LANGUAGES):
        session["lang_chosen"] = True
    g.lang = languages.of_request("lang", languages.PORTAL_LANGUAGES)
    csrf.token(CSRF_KEY)
    if request.method == "POST":
        csrf.check(CSRF_KEY)


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    handoff = _handoff()
    logon = ""
    if handoff is not None and handoff.login_url:
        parts = urlsplit(handoff.login_url)
        logon = f" {parts.scheme}://{parts.netloc}"
    elif handoff is not None:
        logon = f" http://{handoff.uamip}:{handoff.uamport}"
    # a login POST ends in a redirect to the NAS's /logon: allow that origin, no other
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {countdown.CSP_SOURCE}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"form-action 'self'{logon}; frame-ancestors 'none'; base-uri 'none'")
    return response


@blueprint.app_context_processor
def _template_helpers() -> dict[str, Any]:
    def t(key: str, **values: object) -> str:
        return i18n.translate(key, _lang(), **values)

    return {"t": t, "csrf": lambda: session.get(CSRF_KEY, ""),
            "nas_reply": lambda reply: i18n.nas_reply(reply, _lang()),
            "languages": [(code, languages.NAMES[code])
                          for code in languages.PORTAL_LANGUAGES],
            "countdown_script": countdown.SCRIPT}


def _lang() -> str:
    return str(getattr(g, "lang", languages.SIMPLIFIED))


def _renew_session() -> None:
    """A fresh session at login: a new CSRF token and attempt, nothing carried over but
    the hand-off and the language."""
    kept = {key: session[key] for key in ("handoff", "lang", "lang_chosen") if key in session}
    session.clear()
    session.update(kept)
    session[CSRF_KEY] = csrf.fresh()


def _attempt() -> str:
    if "attempt" not in session:
        session["attempt"] = secrets.token_urlsafe(16)
    return str(session["attempt"])


# --- the hand-off ---------------------------------------------------------------------

def _handoff() -> uam.Handoff | None:
    saved = session.get("handoff")
    return uam.Handoff(**saved) if isinstance(saved, dict) else None


@dataclass(frozen=True)
class NasFacts:
    uam_secret: str
    policy: str
    login_url: str = ""
    address: str = ""  # IP or network, as registered


def _nas_facts(found: Store, box: SecretBox | None) -> Callable[[], dict[str, NasFacts]]:
    """What the portal needs of each NAS (UAM secret opened, policy, login URL): every
    page of every login needs it, so it is read once and re-read every 30 s."""

    def load() -> dict[str, NasFacts]:
        with found.session() as db:
            rows = db.execute(select(NasClient.name, NasClient.uam_secret_sealed,
                                     NasClient.policy, NasClient.portal_login_url,
                                     NasClient.address)).all()
        return {name: NasFacts(box.open(sealed) if sealed and box else "", policy,
                               login_url or "", address)
                for name, sealed, policy, login_url, address in rows}

    return load


def _uam_secret(nasid: str) -> str:
    facts = _portal().nases.get().get(nasid)
    return facts.uam_secret if facts else ""


def _terms(handoff: uam.Handoff | None) -> Terms:
    return _nas_terms(handoff.nasid) if handoff else DEFAULT


def _nas_terms(nas: str) -> Terms:
    """The terms of the NAS's policy profile (the defaults for a NAS not registered)."""
    facts = _portal().nases.get().get(nas)
    return _portal().profiles.get(facts.policy) if facts else DEFAULT


def _interim_of(nas: str) -> int:
    return _nas_terms(nas).interim_interval


# a NAS uses its portal URL verbatim (CoovaChilli's uamserver) and signs it as written:
# /portal must be answered where it arrives, not redirected to /portal/
@blueprint.get("/", strict_slashes=False)
def arrive() -> BaseResponse | str | tuple[str, int]:
    """Where the NAS sends the browser; without a hand-off, a page that says what to do."""
    if "res" not in request.args:
        controller = formauth.recognise(request.args.to_dict())
        if controller is not None:
            return _arrive_by_form(*controller)
        handoff = _handoff()
        if handoff is None:
            return render_template("portal/outside.html")
        # a language switch (?lang=) on a page answered at the hand-off URL lands here
        return redirect(url_for(f".{_page_for(handoff).__name__}"))
    # md covers the URL exactly as the NAS built it: the query string as received
    url = f"{request.base_url}?{request.query_string.decode('latin-1')}"
    nasid = request.args.get("nasid", "")
    try:
        handoff = uam.parse(url, _uam_secret(nasid))
    except uam.BadHandoff as exc:
        log.warning("portal hand-off refused (NAS %r): %s", nasid[:64], exc)
        return render_template("portal/outside.html", problem="unsigned"), 400
    session["handoff"] = handoff.as_dict()
    if handoff.lang and not session.get("lang_chosen"):  # the person's choice stays
        # the NAS's own spelling (en, en_US, zh-cn …); one we don't have: the browser's
        offered = languages.PORTAL_LANGUAGES
        session["lang"] = g.lang = languages.pick(
            handoff.lang, languages.browser_preference(offered), offered=offered)
    if handoff.res == "failed":
        session["failure"] = handoff.reply
    # the page itself, not a redirect to it: a round trip less on a weak signal
    return _page_for(handoff)()


def _page_for(handoff: uam.Handoff) -> Callable[[], str]:
    """The page for what the NAS says of this device (its view, named as its endpoint)."""
    return {"success": success, "already": status, "logoff": logged_out}.get(handoff.res,
                                                                               login)


def _arrive_by_form(nasid: str, names: formauth.Names) -> BaseResponse | tuple[str, int]:
    """A controller with its own web-auth: trusted as far as it can be checked."""
    facts = _portal().nases.get().get(nasid)
    args = request.args.to_dict()
    if facts is None or not facts.login_url:
        log.warning("portal: %r is not a NAS with a portal_login_url", nasid[:64])
        return render_template("portal/outside.html", problem="unsigned"), 400
    if args.get(names.ip) != request.remote_addr:
        log.warning("portal: NAS %s names client %r but the request came from %s",
                    nasid, args.get(names.ip, "")[:45], request.remote_addr)
        return render_template("portal/outside.html", problem="unsigned"), 400
    session["handoff"] = formauth.handoff(args, names, facts.login_url).as_dict()
    return redirect(url_for(".login"))


def _need_handoff(login: bool = True) -> uam.Handoff:
    """This session's hand-off; a login needs one with a challenge (``res=notyet`` or
    ``failed``), logout and forget any."""
    handoff = _handoff()
    if handoff is None or (login and not handoff.can_log_in):
        abort(409, "no hotspot hand-off in this session: reconnect to the WiFi")
    return handoff


# --- pages ----------------------------------------------------------------------------

def _device_mac(handoff: uam.Handoff | None) -> str:
    """The device's MAC when the NAS vouched for it (a signed hand-off): only then may
    the portal act on what is remembered for that MAC."""
    return normal_mac(handoff.mac) if handoff is not None and handoff.signed else ""


def _remembered_owner(handoff: uam.Handoff | None) -> str | None:
    """Whose remembered device this browser is: the NAS vouches for the MAC and the
    browser shows the cookie set at the login that remembered it (a cloned MAC in a
    fresh browser is nobody's here)."""
    mac = _device_mac(handoff)
    device_id = device_cookie.remembrance(_portal().device_key,
                                          request.cookies.get(device_cookie.NAME, ""), mac)
    if device_id is None:
        return None
    with store().session() as db:
        return remembered.owner(db, mac, datetime.now(UTC), device_id)


def _keep_device_cookie(device: remembered.RememberedDevice) -> None:
    """Give this browser the cookie one tap will ask for, as long as the remembrance."""
    cookie = device_cookie.value(_portal().device_key, device.mac, device.id)
    seconds = int((device.expires_at - device.created_at).total_seconds())

    @after_this_request
    def keep(response: BaseResponse) -> BaseResponse:
        response.set_cookie(device_cookie.NAME, cookie, max_age=seconds,
                            path=blueprint.url_prefix, secure=request.is_secure,
                            httponly=True, samesite="Lax")
        return response


@blueprint.get("/login")
def login() -> str:
    handoff = _handoff()
    owner = _remembered_owner(handoff)
    return render_template("portal/login.html", handoff=handoff,
                           failure=session.pop("failure", ""), remembered_owner=owner,
                           masked=phones.masked(owner) if owner else "", offers=_offers(),
                           methods=_methods(handoff))


def _methods(handoff: uam.Handoff | None) -> list[str]:
    """The login methods this hotspot's page offers, in its order (config)."""
    return list(_portal().config.portal.methods_at(handoff.nasid if handoff else ""))


def _offers() -> list[merchants.Offer]:
    """Merchants' offers for the community this person is in (counted as shown)."""
    handoff = _handoff()
    return _portal().showcase.show(handoff.nasid if handoff else "",
                                   handoff.called if handoff else "", _today())


def _today() -> date:
    """The district's day: an offer runs from its first day's midnight there."""
    return datetime.now(_portal().zone).date()


@blueprint.get("/offers/<int:merchant_id>")
def offer(merchant_id: int) -> str:
    with store().session() as db:
        found = merchants.click(db, merchant_id, _today())
        if found is None:
            abort(404)
        shown = {"id": found.id, "name": found.name, "category": found.category,
                 "offer": found.offer, "image": bool(found.image),
                 "until": found.valid_until.isoformat()}
    return render_template("portal/offer.html", offer=shown)


@blueprint.get("/offers/<int:merchant_id>/image")
def offer_image(merchant_id: int) -> Response:
    with store().session() as db:
        found = db.get(merchants.Merchant, merchant_id)
        name = found.image if found is not None else ""
    if not name:
        abort(404)
    data = (_portal().config.data_path / "merchants" / name).read_bytes()
    kind = merchants.image_kind(data)
    if kind is None:
        abort(404)
    response = current_app.response_class(data, mimetype=kind[1])
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@blueprint.post("/voucher")
def voucher() -> BaseResponse | tuple[str, int]:
    handoff = _need_handoff()
    if not request.form.get("consent"):
        return _login_error("need_consent")
    # the device's MAC and address only as a NAS vouched for them (a signed hand-off):
    # an unsigned one could name anyone's, or a new one at each try; RADIUS holds by
    # what the controller itself sends
    client_ip = handoff.ip if handoff.signed else ""
    with store().session() as db:
        held = guesses.held(db, handoff.nasid, _device_mac(handoff), client_ip,
                            datetime.now(UTC))
    if held is not None:
        log.info("voucher tries held for %s (NAS %s): %d s", held.by, handoff.nasid,
                 held.retry_after)
        page = current_app.make_response(
            _login_error(f"vouchers_held_{held.by}", 429, minutes=held.minutes))
        page.headers["Retry-After"] = str(held.retry_after)
        return page
    code = vouchers.normalise(request.form.get("code", ""))
    if code is None:
        return _login_error("bad_voucher")
    with store().statement() as db:
        consent.record(db, code, bool(request.form.get("location")), datetime.now(UTC))
    # the NAS asks RADIUS, which redeems the voucher; the code is user name and password
    LOGINS.labels("voucher").inc()
    return _to_logon(handoff, code, code)


@blueprint.get("/sms")
def sms_form() -> str:
    return render_template("portal/sms.html", handoff=_handoff(), sent=None)


@blueprint.post("/sms")
def sms_request() -> BaseResponse | tuple[str, int]:
    handoff = _need_handoff()
    if not request.form.get("consent"):
        return _sms_error("need_consent")
    phone = phones.mainland_mobile(request.form.get("phone", ""))
    if phone is None:
        return _sms_error("bad_phone")
    portal = _portal()
    asked = sms.Request(phone, _attempt(), request.remote_addr or "",
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


@blueprint.get("/sms/code")
def sms_code() -> BaseResponse | str:
    phone = session.get("phone_pending")
    if not phone:
        return redirect(url_for(".sms_form"))
    portal = _portal()
    shown = portal.outbox.recent() if portal.config.portal.show_outbox else []
    return render_template("portal/code.html", masked=phones.masked(phone),
                           status=session.get("sms_status", "sent"), outbox=shown,
                           terms=_terms(_handoff()), handoff=_handoff(),
                           resend_wait=_resend_wait(phone))


def _resend_wait(phone: str) -> int:
    """Seconds until this attempt may ask for a new code: its button waits as long."""
    handoff = _handoff()
    asked = sms.Request(phone, _attempt(), request.remote_addr or "",
                        normal_mac(handoff.mac) if handoff else "")
    with store().session() as db:
        return sms.resend_wait(db, asked, _portal().limits, datetime.now(UTC))


@blueprint.post("/sms/code")
def sms_verify() -> BaseResponse | tuple[str, int]:
    handoff = _need_handoff()
    phone = session.get("phone_pending")
    if not phone:
        return redirect(url_for(".sms_form"))
    portal = _portal()
    code = normalised(request.form.get("code", ""), " ")
    with store().session() as db:
        verdict = sms.verify(db, portal.code_key, sms.Request(
            phone, _attempt(), request.remote_addr or "", normal_mac(handoff.mac)), code,
            datetime.now(UTC))
    if verdict != "ok":
        return render_template("portal/code.html", masked=phones.masked(phone),
                               status="", error=verdict, outbox=[], terms=_terms(handoff),
                               handoff=handoff, resend_wait=_resend_wait(phone)), 400
    return _logged_in(handoff, phone, "sms")


@blueprint.get("/app")
def app_form() -> str:
    return render_template("portal/app.html", handoff=_handoff())


@blueprint.post("/app")
def app_login() -> BaseResponse | tuple[str, int]:
    handoff = _need_handoff()
    if not request.form.get("consent"):
        return render_template("portal/app.html", handoff=handoff,
                               error="need_consent"), 400
    phone = phones.mainland_mobile(request.form.get("phone", ""))
    if phone is None:
        return render_template("portal/app.html", handoff=handoff, error="bad_phone"), 400
    with store().session() as db:
        verdict = totp.verify(db, _box(), phone, request.form.get("code", ""),
                              datetime.now(UTC))
    if verdict != "ok":
        log.info("app login refused for %s: %s", phones.masked(phone), verdict)
        return render_template("portal/app.html", handoff=handoff, error=verdict), 400
    return _logged_in(handoff, phone, "totp")


@blueprint.post("/device")
def device_login() -> BaseResponse | tuple[str, int]:
    """One tap: this device's MAC (signed by the NAS) is remembered for a person, and this
    browser holds the cookie of that remembrance."""
    handoff = _need_handoff()
    owner = _remembered_owner(handoff)
    if owner is None:
        return _login_error("device_not_remembered")
    return _logged_in(handoff, owner, "mac", remember=False)


def _logged_in(handoff: uam.Handoff, phone: str, method: str,
               remember: bool | None = None) -> BaseResponse | tuple[str, int]:
    """A verified person: optionally remember the device, issue the one-time RADIUS token
    the NAS will present, and send the browser to the NAS's logon."""
    box = _box()
    mac = normal_mac(handoff.mac)
    terms = _terms(handoff)
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
    _renew_session()
    session["phone"] = phone
    # enrolling an authenticator app needs a number just proven by SMS, not a remembered
    # device (a MAC can be cloned) nor the app itself
    session["may_enrol"] = method == "sms"
    LOGINS.labels(method).inc()
    return _to_logon(handoff, phone, token)


def _to_logon(handoff: uam.Handoff, username: str,
              password: str) -> BaseResponse | tuple[str, int]:
    """Hand the login to the NAS: UAM's /logon with a CHAP response, or — for a
    controller with its own web-auth — a form the browser posts to its login URL."""
    if handoff.login_url:
        return render_template("portal/handover.html", action=handoff.login_url,
                               fields=formauth.fields(handoff, username, password)), 200
    response = uam.chap_response(handoff.challenge, password, _uam_secret(handoff.nasid))
    return redirect(uam.logon_url(handoff, username, response, handoff.userurl), code=303)


def _login_error(key: str, status: int = 400, **values: object) -> tuple[str, int]:
    return render_template("portal/login.html", handoff=_handoff(), error=key,
                           error_values=values, failure="", remembered_owner=None,
                           masked="", methods=_methods(_handoff())), status


def _sms_error(key: str, status: int = 400, **values: object) -> tuple[str, int]:
    return render_template("portal/sms.html", handoff=_handoff(), error=key,
                           error_values=values, sent=None), status


@blueprint.get("/success")
def success() -> str:
    handoff = _handoff()
    link = uam.safe_link(handoff.userurl) if handoff else ""
    phone = session.get("phone")
    can_enrol = False
    if isinstance(phone, str) and _may_enrol():
        with store().session() as db:
            can_enrol = not totp.enrolled(db, phone)
    return render_template("portal/success.html", link=link, can_enrol=can_enrol,
                           offers=_offers())


@blueprint.get("/status")
def status() -> str:
    handoff = _handoff()
    live = _live_session(handoff)
    terms = _terms(handoff)
    mac = _device_mac(handoff)
    now = datetime.now(UTC)
    with store().session() as db:
        owner = remembered.owner(db, mac, now) if mac else None
        left = grants.left(db, live, terms, _portal().zone, now) if live else None
    return render_template("portal/status.html", live=live, left=left,
                           remembered_device=owner is not None, handoff=handoff,
                           randomised=bool(mac) and remembered.randomised(mac),
                           forgotten=session.pop("forgotten", False))


def _live_session(handoff: uam.Handoff | None) -> RadiusSession | None:
    """The device's open session at its NAS (its MAC as the signed hand-off names it)."""
    mac = _device_mac(handoff)
    if handoff is None or not mac:
        return None
    with store().session() as db:
        return capport.open_session(db, capport.Asker(mac=mac, nas=handoff.nasid),
                                    datetime.now(UTC), _interim_of)


@blueprint.post("/logout")
def logout() -> BaseResponse:
    handoff = _need_handoff(login=False)
    if not handoff.uamip:  # a web-auth controller: it has its own logout page
        abort(409, "log out on the hotspot's own page")
    session.pop("phone", None)
    session.pop("may_enrol", None)
    return redirect(uam.logoff_url(handoff), code=303)  # the NAS ends the session


@blueprint.post("/forget")
def forget() -> BaseResponse:
    handoff = _need_handoff(login=False)
    mac = _device_mac(handoff)
    if mac:
        with store().session() as db:
            remembered.forget(db, mac, "forgotten by its owner")
    session["forgotten"] = True
    return redirect(url_for(".status"))


@blueprint.get("/logged-out")
def logged_out() -> str:
    return render_template("portal/message.html", message="logged_out")


def _may_enrol() -> bool:
    """This deployment invites app enrolment, and this session's number was just proven
    by SMS."""
    return _portal().config.portal.app_enrolment and bool(session.get("may_enrol"))


@blueprint.get("/enrol")
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


@blueprint.post("/enrol")
def enrol_confirm() -> BaseResponse | str | tuple[str, int]:
    phone, secret = session.get("phone"), session.get("enrolment")
    if not phone or not secret or not _may_enrol():
        return redirect(url_for(".login"))
    with store().session() as db:
        done = totp.confirm(db, _box(), phone, secret, request.form.get("code", ""),
                            datetime.now(UTC))
    if not done:
        return _enrol_page(phone, secret, "wrong code"), 400
    session.pop("enrolment", None)
    return render_template("portal/message.html", message="enrolled")


@blueprint.get("/terms")
def terms_page() -> str:
    return render_template("portal/terms.html")


@blueprint.get("/privacy")
def privacy_page() -> str:
    return render_template("portal/privacy.html")


# --- RFC 8908 Captive Portal API --------------------------------------------------------

@blueprint.get("/api/captive")
def captive_api() -> Response:
    """For the device's OS (DHCP option 114 / RA, RFC 8910, points here): is this client
    still captive, and how much time and data are left, from live accounting. The
    client: the one the URI names (:mod:`portal.capport`), else the request's address."""
    who = capport.asker(request.args, request.remote_addr or "", _nas_addresses())
    now = datetime.now(UTC)
    with store().session() as db:
        live = capport.open_session(db, who, now, _interim_of)
        body: dict[str, Any] = {"captive": live is None and not _unknowable(who),
                                "user-portal-url": url_for(".login", _external=True)}
        if live is not None:
            body["can-extend-session"] = False
            body.update(_remaining(db, live, now))
    venue = _portal().config.portal.venue_info_url
    if venue:
        body["venue-info-url"] = venue
    return current_app.response_class(current_app.json.dumps(body), mimetype=CAPTIVE_JSON)


def _unknowable(who: capport.Asker) -> bool:
    """Asked from a NAS's own address with no client named: a masquerading NAS whose URI
    does not name its clients. Any of them may be logged in, and a logged-in client must
    never be told it is captive; so it is told it is not (a captive one is still
    redirected by its NAS)."""
    if who.named:
        return False
    if not capport.is_nas(who.ip, _nas_addresses()):
        return False
    asked = _portal().unnamed_askers.due(who.ip)
    if asked:
        log.warning("RFC 8908 API asked from NAS address %s without naming the client "
                    "(%d request(s) since the last warning): set the NAS's API URI to "
                    "name it (docs/portal.md)", who.ip, asked)
    return True


def _nas_addresses() -> list[str]:
    return [facts.address for facts in _portal().nases.get().values()]


def _remaining(db: Session, live: RadiusSession, now: datetime) -> dict[str, int]:
    """seconds-remaining / bytes-remaining: what is left of what RADIUS granted."""
    left = grants.left(db, live, _nas_terms(live.nas), _portal().zone, now)
    body = {"seconds-remaining": left.seconds or 0}
    if left.octets is not None:
        body["bytes-remaining"] = left.octets
    return body
