"""The enrolment page: a person of the district (not staff) signs in with their username
and network password, names a device and gets a certificate for it — the .p12 and its
one-time password on the answer page only, with the district CA certificate and the
server name their device must check (the defence against an evil-twin access point).

A public page: its own CSRF token and language (``public_blueprints``); the certificate
comes from the one issue use case (``admission.authority.issue``), audited with the person
as actor, within their role's device limit (``nac.roles.<role>.devices``)."""

from __future__ import annotations

import base64
from typing import Any, cast

from cryptography import x509
from flask import Blueprint, current_app, g, render_template, request
from sqlalchemy import select

from admission import authority, ca, enrolment, people
from admission.models import Authority
from admission.settings import NacConfig
from admission.web import DEVICE_MAX, now
from citynet import csrf, languages
from citynet.catalogs import gettext
from citynet.config import Config
from citynet.errors import SecretsError
from citynet.holds import SourceHold
from citynet.web import store

blueprint = Blueprint("admission_enrol", __name__, url_prefix="/nac",
                      template_folder="templates")

CSRF_KEY = "nac_enrol_csrf"
LANG_KEY = "nac_lang"
NAME_MAX, PASSWORD_MAX = 64, 128


@blueprint.before_request
def _page() -> None:
    """The page's language (``?lang=`` for the session, else the browser's) and its CSRF
    token; every POST carries the token."""
    languages.switch(LANG_KEY, languages.CATALOGUED)
    g.lang = languages.of_request(LANG_KEY, languages.CATALOGUED)
    if request.method == "POST":
        csrf.check(CSRF_KEY)


@blueprint.after_request
def _not_cached(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"  # the answer holds a key and password
    return response


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"enrol_csrf": lambda: csrf.token(CSRF_KEY),
            "enrol_languages": lambda: [(code, languages.NAMES[code])
                                        for code in languages.CATALOGUED
                                        if code != g.get("lang")]}


def _form(problem: str = "", status: int = 200, username: str = "",
          device: str = "") -> tuple[str, int]:
    return render_template("admission_web/enrol.html", problem=problem, username=username,
                           device=device, device_max=DEVICE_MAX, name_max=NAME_MAX,
                           password_max=PASSWORD_MAX), status


@blueprint.get("/enrol")
def enrol_page() -> tuple[str, int]:
    return _form()


def _field(name: str, limit: int, strip: bool = True) -> str:
    value = request.form.get(name, "")
    value = value.strip() if strip else value
    return value if len(value) <= limit and "\x00" not in value else ""


def _refusal(reason: str, retry_after: int) -> tuple[str, int]:
    """What the person is told, and the status: a wrong name and a wrong password read
    the same, so the page does not say which names exist."""
    if reason == enrolment.LOCKED:
        minutes = max(1, (retry_after + 59) // 60)
        return gettext("Too many wrong passwords: try again in %(minutes)s minute(s), or "
                       "ask the IT desk.", minutes=minutes), 429
    if reason == enrolment.DISABLED:
        return gettext("Your network account is disabled: no certificate can be issued. "
                       "Ask the IT desk."), 403
    if reason == enrolment.NO_PASSWORD:
        return gettext("No network password is set for this account yet: ask the IT "
                       "desk to set one."), 403
    return gettext("Wrong username or password."), 401


def _server_name(row: Authority) -> str:
    cert = x509.load_pem_x509_certificate(row.server_cert_pem.encode())
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


@blueprint.post("/enrol")
def enrol() -> tuple[str, int]:
    username = _field("username", NAME_MAX)
    password = _field("password", PASSWORD_MAX, strip=False)
    device = _field("device", DEVICE_MAX)
    if not username or not password:
        return _form(gettext("Enter your username and network password."), 400,
                     username, device)
    if not device:
        return _form(gettext("Name the device (e.g. laptop, phone)"), 400, username)
    try:
        device = ca.checked_name(device, "device")
    except ca.CertificateNameError as exc:
        return _form(gettext("Not a device name: %(why)s", why=exc.said()), 400, username)
    box = current_app.extensions.get("citynet.box")
    if box is None:
        return _form(gettext("Enrolment is not available: ask the IT desk."), 503)
    nac = cast(Config, current_app.extensions["citynet.config"]).section(NacConfig)
    with store().session() as db:  # the sign-in's count is kept even when it fails
        signed = enrolment.sign_in(db, username, password, now(), SourceHold.of(
            enrolment.DOOR, request.remote_addr or "", nac.enrol_source_failures))
    if not signed.ok:
        problem, status = _refusal(signed.reason, signed.retry_after)
        return _form(problem, status, username, device)
    try:
        with store().session() as db:
            person = people.find(db, username)
            policy = nac.roles.get(person.role.value) if person is not None else None
            issued = authority.issue(
                db, box, username, device, now(),
                authority.Who(username, request.remote_addr or ""),
                device_limit=policy.devices if policy is not None else 0)
            row = db.scalar(select(Authority))
            ca_pem, server = (row.ca_cert_pem, _server_name(row)) if row else ("", "")
    except authority.DeviceLimitError:
        return _form(gettext("You hold certificates for as many devices as your role "
                             "allows: ask the IT desk to revoke one you no longer use."),
                     409, username)
    except (authority.AdmissionError, SecretsError):
        return _form(gettext("Enrolment is not available: ask the IT desk."), 503)
    return render_template(
        "admission_web/enrolled.html", issued=issued, server=server,
        p12=base64.b64encode(issued.p12).decode(),
        ca_pem=base64.b64encode(ca_pem.encode()).decode(),
        filename=f"{issued.username}-{issued.device}.p12".replace(" ", "_")
        .replace('"', "")), 200
