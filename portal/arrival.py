"""Arriving at the portal: the NAS's hand-off (CoovaChilli UAM, :mod:`portal.uam`, or a
controller's own web-auth form, :mod:`portal.formauth`), and the pages read before a
login (terms, privacy). Nothing the NAS sent is echoed unescaped."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import g, redirect, render_template, request, session, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import languages
from portal import achandoff, formauth, logins, online, uam, visit

log = logging.getLogger(__name__)


# a NAS uses its portal URL verbatim (CoovaChilli's uamserver) and signs it as written:
# /portal must be answered where it arrives, not redirected to /portal/
@visit.blueprint.get("/", strict_slashes=False)
def arrive() -> BaseResponse | str | tuple[str, int]:
    """Where the NAS sends the browser; without a hand-off, a page that says what to do."""
    if "res" not in request.args:
        by_protocol = achandoff.recognise(request.args.to_dict(), visit.portal().acs.get())
        if by_protocol is not None:
            return _arrive_from_ac(by_protocol)
        controller = formauth.recognise(request.args.to_dict())
        if controller is not None:
            return _arrive_by_form(*controller)
        handoff = visit.handoff()
        if handoff is None:
            return render_template("portal/outside.html")
        # a language switch (?lang=) on a page answered at the hand-off URL lands here
        return redirect(url_for(f".{_page_for(handoff).__name__}"))
    # md covers the URL exactly as the NAS built it: the query string as received
    url = f"{request.base_url}?{request.query_string.decode('latin-1')}"
    nasid = request.args.get("nasid", "")
    try:
        handoff = uam.parse(url, visit.uam_secret(nasid))
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


def _page_for(handoff: uam.Handoff) -> Callable[[], BaseResponse | str]:
    """The page for what the NAS says of this device (its view, named as its endpoint)."""
    return {"success": online.success, "already": online.status,
            "logoff": online.logged_out}.get(handoff.res, logins.login)


def _arrive_by_form(nasid: str, names: formauth.Names) -> BaseResponse | tuple[str, int]:
    """A controller with its own web-auth: trusted as far as it can be checked."""
    facts = visit.portal().nases.get().get(nasid)
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



def _arrive_from_ac(handoff: uam.Handoff) -> BaseResponse | tuple[str, int]:
    """A Portal-protocol AC's redirect: the address it names must be the one the portal
    sees (the redirect is unsigned; the AC checks the rest when the portal logs in)."""
    if handoff.ip != request.remote_addr:
        log.warning("portal: AC %s names client %r but the request came from %s",
                    handoff.ac, handoff.ip, request.remote_addr)
        return render_template("portal/outside.html", problem="unsigned"), 400
    session["handoff"] = handoff.as_dict()
    return redirect(url_for(".login"))


@visit.blueprint.get("/terms")
def terms_page() -> str:
    return render_template("portal/terms.html")


@visit.blueprint.get("/privacy")
def privacy_page() -> str:
    return render_template("portal/privacy.html")

