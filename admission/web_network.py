"""The staff pages of network admission on the network side: the MAC bypass list (add,
remove, the unknown MACs seen) and the live admission sessions with kick.

The sessions are held by whichever domain runs RADIUS; ``admission.live`` reaches them
through the kernel's hooks, never by importing that domain."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from admission import mab
from admission.live import SESSIONS_SHOWN, live_sessions
from admission.settings import NacConfig
from admission.web import REASON_MAX, blueprint, now
from citynet.access import audited, require
from citynet.catalogs import gettext
from citynet.domains import registered
from citynet.web import config, form_text, runtime, store

__all__ = ["blueprint"]


# --- sessions -------------------------------------------------------------------------

@blueprint.get("/sessions")
@require("nac.read")
def sessions_page() -> str:
    return render_template("admission_web/sessions.html", sessions=live_sessions(),
                           limit=SESSIONS_SHOWN, reason_max=REASON_MAX)


@blueprint.post("/sessions/kick")
@require("nac.kick")
def kick() -> BaseResponse:
    """Disconnect one admission session (RFC 5176, through the domain that holds it);
    the NAS's answer shown and audited."""
    key, reason, identity = form_text("session"), form_text("reason"), form_text("who")
    if not reason or len(reason) > REASON_MAX:
        flash(gettext("Give a reason for the disconnect (at most %(n)s characters)",
                      n=REASON_MAX), "error")
        return redirect(url_for("admission_web.sessions_page"))
    # only an admission session is kicked from here (the person's, as the row said)
    wanted = next((s for s in live_sessions(identity) if s.key == key), None)
    kickers = [d.end_session for d in registered() if d.end_session is not None]
    result = kickers[0](runtime(), key) if wanted is not None and kickers else None
    if wanted is None or result is None:
        flash(gettext("No such open session (it may have ended): reload the list"), "error")
        return redirect(url_for("admission_web.sessions_page"))
    with store().session() as db:
        audited(db, "admission.session.kick", f"{result.session_id}@{result.nas}",
                "ok" if result.ok else "failed", reason=reason,
                detail={"who": wanted.identity, "mac": wanted.mac, "answer": result.answer})
    if result.ok:
        flash(gettext("Disconnected %(who)s's device %(mac)s (%(nas)s confirmed).",
                      who=wanted.identity, mac=wanted.mac, nas=result.nas), "ok")
    else:
        flash(gettext("%(nas)s did not disconnect %(who)s's device %(mac)s: %(answer)s",
                      nas=result.nas, who=wanted.identity, mac=wanted.mac,
                      answer=result.answer), "error")
    return redirect(url_for("admission_web.sessions_page"))


# --- MAC bypass ------------------------------------------------------------------------

def _mab_page(problems: dict[str, str], given: dict[str, str], status: int = 200
              ) -> tuple[str, int]:
    settings = config().section(NacConfig)
    with store().session() as db:
        entries = [{"mac": e.mac, "profile": e.profile,
                    "added_at": e.added_at.strftime("%Y-%m-%d %H:%M")}
                   for e in mab.entries(db)]
        unknown = [{"mac": u.mac, "nas": u.nas, "port": u.port, "count": u.count,
                    "first_seen": u.first_seen.strftime("%Y-%m-%d %H:%M"),
                    "last_seen": u.last_seen.strftime("%Y-%m-%d %H:%M"),
                    "randomised": mab.randomised(u.mac)}
                   for u in mab.unknown(db)]
    return render_template("admission_web/mab.html", entries=entries, unknown=unknown,
                           profiles=sorted(settings.mab_profiles), problems=problems,
                           given=given), status


@blueprint.get("/mab")
@require("nac.read")
def mab_page() -> tuple[str, int]:
    return _mab_page({}, {"mac": "", "profile": ""})


@blueprint.post("/mab")
@require("nac.write")
def mab_add() -> tuple[str, int] | BaseResponse:
    given = {"mac": form_text("mac"), "profile": form_text("profile")}
    problems: dict[str, str] = {}
    settings = config().section(NacConfig)
    if not given["profile"] or given["profile"] not in settings.mab_profiles:
        problems["profile"] = gettext("Choose one of the configured profiles")
    try:
        mac = mab.checked(given["mac"])
    except mab.BadMac as exc:
        problems["mac"] = exc.said()
    if problems:
        return _mab_page(problems, given, 400)
    with store().session() as db:
        _entry, new = mab.add(db, settings, mac, given["profile"], now())
        audited(db, "admission.mab.add", mac, detail={"profile": given["profile"],
                                                       "new": new})
    flash(gettext("%(mac)s is on the bypass list as %(profile)s.", mac=mac,
                  profile=given["profile"]), "ok")
    return redirect(url_for("admission_web.mab_page"))


@blueprint.post("/mab/remove")
@require("nac.write")
def mab_remove() -> BaseResponse:
    text = form_text("mac", 32)
    with store().session() as db:
        entry = mab.remove(db, text)
        if entry is None:
            abort(404)
        audited(db, "admission.mab.remove", entry.mac, detail={"profile": entry.profile})
        mac = entry.mac
    flash(gettext("%(mac)s is off the bypass list: its next request is refused.", mac=mac),
          "ok")
    return redirect(url_for("admission_web.mab_page"))
