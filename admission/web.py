"""The staff pages of network admission: people (search, disable, enable) and their
certificates (list, issue, revoke). MAC bypass and the live sessions' page are
in ``admission.web_network``. Views check input and render what the use cases
(``admission.authority``, ``admission.people``) return; every change is audited by the
use case, in its transaction, with the staff member as its actor."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers.response import Response as BaseResponse

from admission import authority, ca, disabling, holds, people
from admission.choices import PersonStatus, Role
from admission.live import live_of
from admission.models import Certificate, Person
from admission.settings import NacConfig
from citynet.access import require
from citynet.catalogs import gettext
from citynet.errors import SecretsError
from citynet.web import box, config, form_text, query_arg, runtime, store, who_asks

blueprint = Blueprint("admission_web", __name__, url_prefix="/admin/nac",
                      template_folder="templates")

SHOWN = 300  # rows on a list page; narrow the search for the rest
REASON_MAX = 200
DEVICE_MAX = 64


def now() -> datetime:
    return datetime.now(UTC)


def who() -> authority.Who:
    """The signed-in staff member and their address, for the use cases' audit entries."""
    return authority.Who(*who_asks())


@dataclass(frozen=True)
class PeopleSearch:
    text: str  # a name, username or department
    role: str
    status: str


def _search() -> PeopleSearch:
    role, status = query_arg("role", 16), query_arg("status", 16)
    if role and role not in {r.value for r in Role}:
        abort(400, "role= is one of " + ", ".join(r.value for r in Role))
    if status and status not in {s.value for s in PersonStatus}:
        abort(400, "status= is one of " + ", ".join(s.value for s in PersonStatus))
    return PeopleSearch(query_arg("q", 128), role, status)


def find_people(session: Session, wanted: PeopleSearch, limit: int) -> list[Person]:
    """People matching the search (name, username or department contains the text)."""
    query = select(Person).order_by(Person.username).limit(limit)
    if wanted.text:
        like = f"%{wanted.text.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Person.username.ilike(like), Person.real_name.ilike(like),
                                Person.department.ilike(like)))
    if wanted.role:
        query = query.where(Person.role == Role(wanted.role))
    if wanted.status:
        query = query.where(Person.status == PersonStatus(wanted.status))
    return list(session.scalars(query.options(selectinload(Person.certificates))))


@blueprint.get("/people")
@require("nac.read")
def people_page() -> str:
    wanted = _search()
    with store().session() as db:
        found = find_people(db, wanted, SHOWN + 1)
        rows = [{"username": p.username, "real_name": p.real_name,
                 "department": p.department, "role": p.role.value, "status": p.status.value,
                 "live_certs": sum(1 for c in p.certificates if c.revoked_at is None)}
                for p in found[:SHOWN]]
    return render_template("admission_web/people.html", wanted=wanted, people=rows,
                           more=len(found) > SHOWN, limit=SHOWN, roles=list(Role),
                           statuses=list(PersonStatus))


def cert_view(cert: Certificate, at: datetime) -> dict[str, Any]:
    state = ("revoked" if cert.revoked_at is not None
             else "expired" if cert.not_after <= at else "valid")
    return {"serial": cert.serial, "username": cert.person.username,
            "real_name": cert.person.real_name, "device": cert.device,
            "not_after": cert.not_after.strftime("%Y-%m-%d %H:%M"), "state": state,
            "revoked_at": cert.revoked_at.strftime("%Y-%m-%d %H:%M")
            if cert.revoked_at else ""}


def _person_page(username: str, problems: dict[str, str], device: str = "",
                 status: int = 200) -> tuple[str, int]:
    """A person, their certificates and live sessions; the issue form's problems."""
    at = now()
    with store().session() as db:
        person = people.find(db, username)
        if person is None:
            abort(404)
        shown = {"username": person.username, "real_name": person.real_name,
                 "department": person.department, "phone": person.phone,
                 "role": person.role.value, "status": person.status.value}
        certs = [cert_view(c, at) for c in sorted(person.certificates, key=lambda c: c.id)]
        held = [{"every": key == holds.ANY_DEVICE, "device": key,
                 "until": f"{until:%Y-%m-%d %H:%M}"} for key, until in holds.holds_of(
                     db, person.username, config().section(NacConfig).password_limits, at)]
    return render_template("admission_web/person.html", person=shown, certs=certs,
                           sessions=live_of(username), reason_max=REASON_MAX,
                           device_max=DEVICE_MAX, problems=problems, device=device,
                           held=held), status


@blueprint.get("/people/<username>")
@require("nac.read")
def person_page(username: str) -> tuple[str, int]:
    return _person_page(username, {})


def _reason() -> str:
    return form_text("reason", REASON_MAX)


@blueprint.post("/people/<username>/disable")
@require("nac.write")
def disable(username: str) -> BaseResponse:
    """Disable: certificates revoked, the next login refused, live sessions Disconnected
    (each NAS's answer shown and audited)."""
    reason = _reason()
    try:
        done = disabling.disable(runtime(), username, reason, now(), who())
    except authority.AdmissionError:
        abort(404)
    if done.changed:
        flash(gettext("%(name)s is disabled: their next login is refused.", name=username),
              "ok")
    else:
        flash(gettext("%(name)s was disabled already.", name=username), "ok")
    if done.revoked:
        flash(gettext("Revoked %(count)s certificate(s): %(serials)s. Publish a new CRL "
                      "(citynet nac crl) for FreeRADIUS.", count=len(done.revoked),
                      serials=", ".join(done.revoked)), "ok")
    for one in done.ended:
        if one.ok:
            flash(gettext("Session %(session)s on %(nas)s disconnected (%(answer)s).",
                          session=one.session_id, nas=one.nas, answer=one.answer), "ok")
        else:
            flash(gettext("Session %(session)s on %(nas)s NOT disconnected (%(answer)s).",
                          session=one.session_id, nas=one.nas, answer=one.answer), "error")
    return redirect(url_for("admission_web.person_page", username=username))


@blueprint.post("/people/<username>/enable")
@require("nac.write")
def enable(username: str) -> BaseResponse:
    reason = _reason()
    with store().session() as db:
        try:
            changed = authority.enable_person(db, username, reason, who())
        except authority.AdmissionError:
            abort(404)
    flash(gettext("%(name)s is enabled: issue new certificates, the revoked ones stay "
                  "revoked.", name=username) if changed
          else gettext("%(name)s was active already.", name=username), "ok")
    return redirect(url_for("admission_web.person_page", username=username))


@blueprint.post("/people/<username>/unhold")
@require("nac.write")
def unhold(username: str) -> BaseResponse:
    """Lift the person's password hold (too many wrong PEAP/TTLS passwords)."""
    asks = who()
    with store().session() as db:
        done = holds.lift(db, username, config().section(NacConfig).password_limits, now(),
                          asks.actor, asks.source)
        if done is None:
            abort(404)
        db.commit()
    flash(gettext("%(name)s's password logins are taken again.", name=done.username), "ok")
    return redirect(url_for("admission_web.person_page", username=username))


# --- certificates --------------------------------------------------------------------

@blueprint.get("/certificates")
@require("nac.read")
def certificates_page() -> str:
    text, state = query_arg("q", 128), query_arg("state", 16)
    if state and state not in ("valid", "revoked", "expired"):
        abort(400, "state= is valid, revoked or expired")
    at = now()
    with store().session() as db:
        query = (select(Certificate).join(Certificate.person)
                 .options(selectinload(Certificate.person))
                 .order_by(Certificate.id.desc()))
        if text:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            query = query.where(or_(Person.username.ilike(like), Person.real_name.ilike(like),
                                    Certificate.device.ilike(like),
                                    Certificate.serial.ilike(like.lower())))
        if state == "revoked":
            query = query.where(Certificate.revoked_at.is_not(None))
        elif state:
            query = query.where(Certificate.revoked_at.is_(None),
                                Certificate.not_after > at if state == "valid"
                                else Certificate.not_after <= at)
        rows = [cert_view(c, at) for c in db.scalars(query.limit(SHOWN + 1))]
    return render_template("admission_web/certificates.html", certs=rows[:SHOWN],
                           more=len(rows) > SHOWN, limit=SHOWN, text=text, state=state,
                           reason_max=REASON_MAX)


@blueprint.post("/certificates/revoke")
@require("nac.write")
def revoke() -> BaseResponse:
    serial = form_text("serial")
    reason = _reason()
    back = form_text("back")
    if not authority.SERIAL.fullmatch(serial):
        abort(400, "serial is a certificate's serial (hex)")
    with store().session() as db:
        if db.scalar(select(Certificate.id).where(Certificate.serial == serial)) is None:
            abort(404)
        revoked = authority.revoke(db, serial, now(), who(), reason)
    flash(gettext("Certificate %(serial)s revoked. Publish a new CRL (citynet nac crl) for "
                  "FreeRADIUS.", serial=serial) if revoked
          else gettext("Certificate %(serial)s was revoked already.", serial=serial), "ok")
    target = url_for("admission_web.person_page", username=back) if back \
        else url_for("admission_web.certificates_page")
    return redirect(target)


@blueprint.post("/people/<username>/certificates")
@require("nac.write")
def issue(username: str) -> tuple[str, int] | BaseResponse:
    """Issue a certificate for one of the person's devices. The answer is the one page
    that holds the .p12 (as a download link in the page) and its password: neither is
    stored, logged or shown again."""
    device = form_text("device")
    problem = ""
    if not device:
        problem = gettext("Name the device (e.g. laptop, phone)")
    else:
        try:
            device = ca.checked_name(device, "device")
        except ca.CertificateNameError as exc:
            problem = gettext("Not a device name: %(why)s", why=exc.said())
    sealing = box()
    issued = None
    if sealing is None:
        problem = gettext("No secrets key is configured: the CA keys are sealed with it")
    elif not problem:
        try:
            with store().session() as db:
                issued = authority.issue(db, sealing, username, device, now(), who())
        except (authority.AdmissionError, SecretsError) as exc:
            problem = exc.said()
    if issued is None:
        return _person_page(username, {"device": problem}, device, 400)
    return render_template("admission_web/issued.html", issued=issued,
                           p12=base64.b64encode(issued.p12).decode(),
                           filename=f"{issued.username}-{issued.device}.p12"
                           .replace(" ", "_").replace('"', "")), 200
