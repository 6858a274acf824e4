"""A person's visit to the captive portal: the blueprint every portal page is on, what
the pages need beyond the store (:class:`Portal`), and the session (hand-off, language,
CSRF token, login attempt).

Works without JavaScript, in no frame, with one first-party cookie (the session: the
hand-off, a CSRF token, the login attempt). Every POST checks the CSRF token; the session
is renewed at login."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, current_app, g, request, session
from sqlalchemy import select

from citynet import csrf, languages
from citynet.cache import Reloading
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.logs import Throttle
from citynet.web import headers_by_default
from inventory.models import NasClient
from portal import countdown, i18n, merchants, sms, uam
from portal.acclient import AcClient, Drops, Timing
from portal.acnas import AcDirectory
from portal.senders import Dispatcher, HttpGateway, Outbox, Sender
from radius.profiles import DEFAULT, ProfileBook, Terms

log = logging.getLogger(__name__)

blueprint = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")


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
    acs: Reloading[AcDirectory]  # the Portal-protocol ACs of the NAS registry
    ac_client: AcClient
    # NAS addresses asking the RFC 8908 API without naming the client: warned of hourly
    unnamed_askers: Throttle = field(default_factory=lambda: Throttle(every=3600))


def setup(app: Flask, config: Config) -> None:
    outbox = Outbox(Path(config.data_path) / "sms-outbox.jsonl")
    settings = config.portal
    store_of_app: Store = app.extensions["citynet.store"]
    gateway: Sender = outbox
    if settings.sms_gateway == "http":
        gateway = HttpGateway(settings.sms_urls, settings.sms_token.get_secret_value())
    key = app.secret_key if isinstance(app.secret_key, bytes) else str(
        app.secret_key).encode()
    app.extensions["citynet.portal"] = Portal(
        config=config, outbox=outbox, sender=Dispatcher(gateway),
        limits=sms.Limits(code_minutes=settings.code_minutes,
                          resend_seconds=settings.resend_seconds,
                          per_phone_day=settings.per_phone_day, per_ip_day=settings.per_ip_day,
                          per_mac_day=settings.per_mac_day,
                          per_prefix_day=settings.per_prefix_day,
                          global_day=settings.global_day),
        code_key=hmac.new(key, b"portal sms codes", "sha256").digest(),
        device_key=hmac.new(key, b"portal device cookies", "sha256").digest(),
        nases=Reloading(_nas_facts(store_of_app, app.extensions.get("citynet.box")),
                        "NAS facts"),
        profiles=ProfileBook.of(store_of_app),
        showcase=merchants.Showcase(store_of_app), zone=ZoneInfo(config.radius.timezone),
        acs=Reloading(_ac_directory(store_of_app, app.extensions.get("citynet.box")),
                      "Portal-protocol ACs"),
        ac_client=AcClient(Drops(), Timing(settings.protocol_timeout,
                                           settings.protocol_tries)))


def portal() -> Portal:
    found: Portal = current_app.extensions["citynet.portal"]
    return found


def box() -> SecretBox:
    box: SecretBox | None = current_app.extensions.get("citynet.box")
    if box is None:
        abort(503, "the portal needs the secrets key (tokens and UAM secrets are sealed)")
    return box


# --- session, language, CSRF ---------------------------------------------------------

CSRF_KEY = "csrf"  # the portal's token in the session, apart from the staff pages'
AC_ONLINE = "ac_online"  # the address this session logged in at a Portal-protocol AC


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
    headers_by_default(response.headers, [("Cache-Control", "no-store")])
    saved = handoff()
    logon = ""
    if saved is not None and saved.login_url:
        parts = urlsplit(saved.login_url)
        logon = f" {parts.scheme}://{parts.netloc}"
    elif saved is not None and saved.uamip:
        logon = f" http://{saved.uamip}:{saved.uamport}"
    # a login POST ends in a redirect to the NAS's /logon: allow that origin, no other
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {countdown.CSP_SOURCE}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"form-action 'self'{logon}; frame-ancestors 'none'; base-uri 'none'")
    return response


@blueprint.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"say": i18n.say, "csrf": lambda: session.get(CSRF_KEY, ""),
            "nas_reply": lambda reply: i18n.nas_reply(reply, lang()),
            "languages": [(code, languages.NAMES[code])
                          for code in languages.PORTAL_LANGUAGES],
            "countdown_script": countdown.SCRIPT}


def lang() -> str:
    return str(getattr(g, "lang", languages.SIMPLIFIED))


def renew_session() -> None:
    """A fresh session at login: a new CSRF token and attempt, nothing carried over but
    the hand-off and the language."""
    kept = {key: session[key] for key in ("handoff", "lang", "lang_chosen") if key in session}
    session.clear()
    session.update(kept)
    session[CSRF_KEY] = csrf.fresh()


def attempt() -> str:
    if "attempt" not in session:
        session["attempt"] = secrets.token_urlsafe(16)
    return str(session["attempt"])


# --- the hand-off ---------------------------------------------------------------------

def handoff() -> uam.Handoff | None:
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


def _ac_directory(found: Store, box: SecretBox | None) -> Callable[[], AcDirectory]:
    def load() -> AcDirectory:
        with found.session() as db:
            return AcDirectory.load(db, box)

    return load


def uam_secret(nasid: str) -> str:
    facts = portal().nases.get().get(nasid)
    return facts.uam_secret if facts else ""


def terms(handoff: uam.Handoff | None) -> Terms:
    return nas_terms(handoff.nasid) if handoff else DEFAULT


def nas_terms(nas: str) -> Terms:
    """The terms of the NAS's policy profile (the defaults for a NAS not registered)."""
    facts = portal().nases.get().get(nas)
    return portal().profiles.get(facts.policy) if facts else DEFAULT


def interim_of(nas: str) -> int:
    return nas_terms(nas).interim_interval

def need_handoff(login: bool = True) -> uam.Handoff:
    """This session's hand-off; a login needs one with a challenge (``res=notyet`` or
    ``failed``), logout and forget any."""
    saved = handoff()
    if saved is None or (login and not saved.can_log_in):
        abort(409, "no hotspot hand-off in this session: reconnect to the WiFi")
    return saved
