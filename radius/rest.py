"""The API FreeRADIUS's rlm_rest calls when FreeRADIUS sits in front (production at scale).

Same policy and records as citynet's own listener. rlm_rest posts the request's
attributes as JSON (``{"User-Name": {"type": "string", "value": ["…"]}, …}``) and maps
our HTTP status to its module code — the contract, kept as data in ``STATUS`` below:

    204 / 200 → ok / updated, 401 → reject, 404 → notfound, 403 → userlock, 5xx → fail

One call a login: ``authorize`` decides (PAP's password and CHAP's response are among
the attributes FreeRADIUS posts) and answers an accepted login with the reply attributes
and ``control:Auth-Type := Accept``; a rejected one with 401 and a Reply-Message; a
User-Name that is nobody's here (no such voucher or remembered device) with 404, so a
module after ours may still claim it. ``authenticate`` decides the same way, for
hand-written configs whose own authorize sets ``Auth-Type rest``. ``post-auth`` records
what FreeRADIUS decided without us (a site's own rules ahead of citynet, citynet
failing); the answers of ours carry ``control:Citynet-Decided`` so
the generated config calls it for no other login. Every decision, and its login record,
goes through this process's API record writer (group commit).

Access: the token from ``radius.rest_token`` in an ``X-Citynet-Token`` header, and a
source address inside ``radius.rest_allow``. Without a token the API answers 503, which
FreeRADIUS treats as fail: the generated config rejects then (fail closed).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, request

from citynet.cache import Reloading
from citynet.config import RadiusConfig
from citynet.web import store
from radius.accounting import RecordWriter, UnusableAccounting, event_from
from radius.decisions import Decision, ForeignLogin, Login, LoginAttempt
from radius.enforcement import Enforcer
from radius.freeradius import DECIDED, TOKEN_HEADER
from radius.nas import NasRegistry
from radius.policy import UNCLAIMED, Policy

log = logging.getLogger(__name__)

blueprint = Blueprint("radius_rest", __name__, url_prefix="/radius/rest")

# rlm_rest's reading of our status codes (FreeRADIUS 3.2 mods-available/rest).
STATUS = {"ok": 204, "updated": 200, "reject": 401, "notfound": 404, "userlock": 403,
          "fail": 503}


class JsonAttributes:
    """rlm_rest's JSON body, read like a decoded packet (first value of an attribute)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def get(self, name: str) -> Any:
        entry = self.body.get(name)
        if not isinstance(entry, dict) or not entry.get("value"):
            return None
        value = entry["value"][0]
        if entry.get("type") == "octets" and isinstance(value, str) and value.startswith("0x"):
            try:
                return bytes.fromhex(value[2:])
            except ValueError:
                return None
        return value


def _config() -> RadiusConfig:
    found: RadiusConfig = current_app.extensions["citynet.radius"]
    return found


# below the generated config's rlm_rest timeout (2 s): a decision FreeRADIUS no longer
# waits for is not made at all
DECISION_WAIT = 1.5


class _Radius:
    """This app's policy and limit enforcement, made on first use."""

    def __init__(self, config: RadiusConfig) -> None:
        zone = ZoneInfo(config.timezone)
        box = current_app.extensions.get("citynet.box")
        self.policy = Policy(store(), box, zone)
        found = store()

        def load_registry() -> NasRegistry:
            with found.session() as session:
                return NasRegistry.load(session, box)

        # the NAS registry for the enforcer's Disconnects, re-read at most every 30 s
        self.registry = Reloading(load_registry, "NAS registry")
        self.enforcer = Enforcer(found, lambda name: self.registry.get().by_name(name),
                                 self.policy.profiles, zone)
        # one group-committing writer for every request thread of this process: logins
        # are decided there, and concurrent calls share commits
        self.writer = RecordWriter(store(), after_commit=self.enforcer.after_commit,
                                   decide=self.policy.decide_in)
        self.writer.start()

    def decide(self, attempt: LoginAttempt, nas: str) -> Decision:
        """Decided and recorded (durably) on the writer's thread, on the NAS's profile;
        503 (FreeRADIUS: fail, so reject) if that takes longer than FreeRADIUS waits."""
        entry = self.registry.get().by_name(nas)
        login = Login(attempt, nas, entry.policy if entry else "default",
                      deadline=time.monotonic() + DECISION_WAIT)
        try:
            return self.writer.decide_blocking(login, timeout=DECISION_WAIT)
        except TimeoutError:
            log.error("login from %s not decided within %.1f s", nas, DECISION_WAIT)
            abort(STATUS["fail"], "not decided in time")


_made_lock = threading.Lock()


def _radius() -> _Radius:
    with _made_lock:
        made: _Radius | None = current_app.extensions.get("citynet.radius.rest")
        if made is None:
            made = current_app.extensions["citynet.radius.rest"] = _Radius(_config())
        return made


@blueprint.before_request
def _authorised() -> None:
    config = _config()
    token = config.rest_token.get_secret_value()
    if not token:
        abort(STATUS["fail"], "the rlm_rest API is not configured (radius.rest_token)")
    try:
        source = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        abort(403)
    if not any(source in ipaddress.ip_network(net) for net in config.rest_allow):
        log.warning("rlm_rest call from %s refused: not in radius.rest_allow", source)
        abort(403)
    given = request.headers.get(TOKEN_HEADER, "")
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        abort(403)


def _body() -> JsonAttributes:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "expected rlm_rest's JSON body (body = 'json')")
    return JsonAttributes(body)


def _nas() -> str:
    nas = request.args.get("nas", "")
    if not nas:
        abort(400, "the uri must carry ?nas=%{client:shortname}")
    return nas


def _attempt(attributes: JsonAttributes) -> LoginAttempt:
    chap = attributes.get("CHAP-Password")
    return LoginAttempt(
        user=str(attributes.get("User-Name") or ""),
        password=None if chap else attributes.get("User-Password"),
        chap=(chap, attributes.get("CHAP-Challenge") or b"") if chap else None,
        calling_station=str(attributes.get("Calling-Station-Id") or ""),
        called_station=str(attributes.get("Called-Station-Id") or ""),
        framed_ip=str(attributes.get("Framed-IP-Address") or ""))


def _reply(attributes: dict[str, object], status: int, **control: str) -> Response:
    """Our reply attributes in rlm_rest's response form (octets as 0x hex). Plain
    json.dumps, not jsonify: this answers every login, and jsonify costs several times
    more for what it adds (pretty-printing in debug)."""
    body: dict[str, object] = {f"control:{name}": value for name, value in control.items()}
    body.update({f"reply:{name}": "0x" + value.hex() if isinstance(value, bytes) else value
                 for name, value in attributes.items()})
    return Response(json.dumps(body), status, mimetype="application/json")


# a Reject's reasons that mean "not ours": no such voucher, no remembered device. (A phone
# number's refusal says "no valid login token" whether it has none or gave a wrong or
# spent one: that is a 401 with its Reply-Message.)
NOBODYS = frozenset({UNCLAIMED["voucher"], UNCLAIMED["mac"]})


@blueprint.post("/authorize")
def authorize() -> Response:
    """The whole login in one call: Accept (updated, with control:Auth-Type), reject, or
    notfound for a User-Name that is nobody's here; recorded before the answer."""
    decision = _radius().decide(_attempt(_body()), _nas())
    if decision.accept:
        return _reply(decision.attributes, STATUS["updated"],
                      **{"Auth-Type": "Accept", DECIDED: "accept"})
    if decision.reason in NOBODYS:  # rlm_rest reads no body with a 404: the config marks it
        return _reply(decision.attributes, STATUS["notfound"])
    return _reply(decision.attributes, STATUS["reject"], **{DECIDED: "reject"})


@blueprint.post("/authenticate")
def authenticate() -> Response:
    """For a config whose own authorize chose ``Auth-Type rest``: decide, record, answer."""
    decision = _radius().decide(_attempt(_body()), _nas())
    status = STATUS["updated"] if decision.accept else STATUS["reject"]
    return _reply(decision.attributes, status,
                  **{DECIDED: "accept" if decision.accept else "reject"})


ANSWERS = {"Access-Accept": True, "Access-Reject": False}
RESULT_LENGTH = 64  # login_record.result


@blueprint.post("/post-auth")
def post_auth() -> tuple[str, int]:
    """Record a login FreeRADIUS answered without citynet's decision: the answer from
    ``packet`` (%{reply:Packet-Type}), the reason from Module-Failure-Message, the method
    as ``fr:`` and FreeRADIUS's Auth-Type (``auth``)."""
    attributes, nas = _body(), _nas()
    accept = ANSWERS.get(request.args.get("packet", ""))
    if accept is None:
        abort(400, "the uri must carry &packet=%{reply:Packet-Type} (Access-Accept or "
                   "Access-Reject)")
    auth = request.args.get("auth", "").strip().lower()
    reason = "" if accept else str(attributes.get("Module-Failure-Message")
                                   or "rejected by FreeRADIUS")
    decision = Decision(accept, {}, method=f"fr:{auth}"[:16] if auth else "fr",
                        reason=reason[:RESULT_LENGTH])
    _radius().writer.record_blocking(ForeignLogin(_attempt(attributes), nas, decision))
    return "", STATUS["ok"]


@blueprint.post("/accounting")
def accounting() -> tuple[str, int]:
    attributes, nas = _body(), _nas()
    try:
        event = event_from(attributes, nas, datetime.now(UTC))
    except UnusableAccounting as exc:
        log.warning("rlm_rest accounting from %s not recorded: %s", nas, exc)
        return "", STATUS["ok"]  # can never be recorded: answered, so the NAS stops retrying
    # stored as the listener stores it; the enforcer sees it after the commit
    _radius().writer.write_blocking(event)
    return "", STATUS["ok"]
