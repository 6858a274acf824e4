"""The API FreeRADIUS's rlm_rest calls when FreeRADIUS sits in front (production at scale).

Served on the RADIUS service's event loop (aiohttp: this module is its one adapter) at
``radius.rest_bind``:``radius.rest_port`` whenever ``radius.rest_token`` is set — beside
citynet's own UDP ports or without them. A call's store work joins the listener's
rounds (:class:`radius.listener.RadiusServer`): decided and recorded in one transaction
with whatever else came in meanwhile (group commit), answered once that committed. Same
policy and records as the listener; no thread hand-off per call.

rlm_rest posts the request's attributes as JSON (``{"User-Name": {"type": "string",
"value": ["…"]}, …}``) and maps our HTTP status to its module code — the contract, kept
as data in ``STATUS`` below:

    204 / 200 → ok / updated, 401 → reject, 404 → notfound, 403 → userlock, 5xx → fail

One call a login: ``authorize`` decides (PAP's password and CHAP's response are among
the attributes FreeRADIUS posts) and answers an accepted login with the reply attributes
and ``control:Auth-Type := Accept``; a rejected one with 401 and a Reply-Message; a
User-Name that is nobody's here (no such voucher or remembered device) with 404, so a
module after ours may still claim it. ``authenticate`` decides the same way, for
hand-written configs whose own authorize sets ``Auth-Type rest``. ``post-auth`` records
what FreeRADIUS decided without us (a site's own rules ahead of citynet, citynet
failing); the answers of ours carry ``control:Citynet-Decided`` so the generated config
calls it for no other login. ``accounting`` stores a record as the listener does.

Access: the token in an ``X-Citynet-Token`` header, and a source address inside
``radius.rest_allow``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from radius.accounting import Job, Outcome, UnusableAccounting, event_from
from radius.decisions import Decision, ForeignLogin, Login, LoginAttempt
from radius.freeradius import DECIDED, TOKEN_HEADER
from radius.listener import RadiusServer
from radius.policy import UNCLAIMED

log = logging.getLogger(__name__)

PREFIX = "/radius/rest"
# rlm_rest's reading of our status codes (FreeRADIUS 3.2 mods-available/rest).
STATUS = {"ok": 204, "updated": 200, "reject": 401, "notfound": 404, "userlock": 403,
          "fail": 503}
# below the generated config's rlm_rest timeout (2 s): a decision FreeRADIUS no longer
# waits for is not made at all (no token spent, no record)
DECISION_WAIT = 1.5
BODY_LIMIT = 64 * 1024  # rlm_rest's JSON of one request is a few hundred bytes
RESULT_LENGTH = 64  # login_record.result
ANSWERS = {"Access-Accept": True, "Access-Reject": False}  # post-auth's packet=
# a Reject's reasons that mean "not ours": no such voucher, no remembered device. (A phone
# number's refusal says "no valid login token" whether it has none or gave a wrong or
# spent one: that is a 401 with its Reply-Message.)
NOBODYS = frozenset({UNCLAIMED["voucher"], UNCLAIMED["mac"]})


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


def attempt_of(attributes: JsonAttributes) -> LoginAttempt:
    chap = attributes.get("CHAP-Password")
    return LoginAttempt(
        user=str(attributes.get("User-Name") or ""),
        password=None if chap else attributes.get("User-Password"),
        chap=(chap, attributes.get("CHAP-Challenge") or b"") if chap else None,
        calling_station=str(attributes.get("Calling-Station-Id") or ""),
        called_station=str(attributes.get("Called-Station-Id") or ""),
        framed_ip=str(attributes.get("Framed-IP-Address") or ""))


def answer(attributes: dict[str, object], status: int, **control: str) -> web.Response:
    """Reply attributes in rlm_rest's response form (octets as 0x hex)."""
    body: dict[str, object] = {f"control:{name}": value for name, value in control.items()}
    body.update({f"reply:{name}": "0x" + value.hex() if isinstance(value, bytes) else value
                 for name, value in attributes.items()})
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _refusal(status: int, reason: str) -> web.Response:
    return web.Response(text=reason + "\n", status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RestApi:
    """rlm_rest's four calls on a listener's rounds (one event loop: the service's)."""

    def __init__(self, server: RadiusServer, token: str, allow: list[str]) -> None:
        self.server = server
        self.token = token.encode()
        self.allow = [ipaddress.ip_network(network) for network in allow]
        self.app = web.Application(client_max_size=BODY_LIMIT, middlewares=[self._guard])
        self.app.add_routes([web.post(f"{PREFIX}/authorize", self.authorize),
                             web.post(f"{PREFIX}/authenticate", self.authenticate),
                             web.post(f"{PREFIX}/post-auth", self.post_auth),
                             web.post(f"{PREFIX}/accounting", self.accounting)])
        self._runner: web.AppRunner | None = None

    async def start(self, bind: str, port: int) -> int:
        """Listen; the port (``port`` 0: any free one)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, bind, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        found: int = runner.addresses[0][1]
        return found

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            source = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return _refusal(403, "no source address")
        if not any(source in network for network in self.allow):
            log.warning("rlm_rest call from %s refused: not in radius.rest_allow", source)
            return _refusal(403, "not in radius.rest_allow")
        given = request.headers.get(TOKEN_HEADER, "")
        if not self.token or not given or not hmac.compare_digest(given.encode(), self.token):
            return _refusal(403, f"no valid {TOKEN_HEADER}")
        return await handler(request)

    async def _call(self, request: web.Request) -> tuple[JsonAttributes, str]:
        nas = request.query.get("nas", "")
        if not nas:
            raise web.HTTPBadRequest(text="the uri must carry ?nas=%{client:shortname}")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected rlm_rest's JSON body (body = 'json')")
        return JsonAttributes(body), nas

    async def _stored(self, job: Job) -> Outcome:
        """The job's outcome once the round it joined committed (or failed)."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        def settle(outcome: Outcome) -> None:
            if not done.done():  # the caller may have gone
                done.set_result(outcome)

        self.server.submit(job, settle)
        return await done

    async def _decide(self, attempt: LoginAttempt, nas: str) -> Decision:
        """Decided and recorded (durably) on the NAS's profile; 503 (FreeRADIUS: fail, so
        reject) if the store failed or FreeRADIUS would no longer be waiting."""
        entry = self.server.registry.by_name(nas)
        outcome = await self._stored(Login(attempt, nas, entry.policy if entry else "default",
                                           deadline=time.monotonic() + DECISION_WAIT))
        if isinstance(outcome, Exception):
            log.error("login from %s not decided: %s", nas, outcome)
            raise web.HTTPServiceUnavailable(text="not decided")
        assert isinstance(outcome, Decision)  # noqa: S101 - what a Login's outcome is
        return outcome

    async def authorize(self, request: web.Request) -> web.Response:
        """The whole login in one call: Accept (updated, with control:Auth-Type), reject,
        or notfound for a User-Name that is nobody's here; recorded before the answer."""
        attributes, nas = await self._call(request)
        decision = await self._decide(attempt_of(attributes), nas)
        if decision.accept:
            return answer(decision.attributes, STATUS["updated"],
                          **{"Auth-Type": "Accept", DECIDED: "accept"})
        if decision.reason in NOBODYS:  # rlm_rest reads no body with a 404: the config marks it
            return answer(decision.attributes, STATUS["notfound"])
        return answer(decision.attributes, STATUS["reject"], **{DECIDED: "reject"})

    async def authenticate(self, request: web.Request) -> web.Response:
        """For a config whose own authorize chose ``Auth-Type rest``: decide, record,
        answer."""
        attributes, nas = await self._call(request)
        decision = await self._decide(attempt_of(attributes), nas)
        status = STATUS["updated"] if decision.accept else STATUS["reject"]
        return answer(decision.attributes, status,
                      **{DECIDED: "accept" if decision.accept else "reject"})

    async def post_auth(self, request: web.Request) -> web.Response:
        """Record a login FreeRADIUS answered without citynet's decision: the answer from
        ``packet`` (%{reply:Packet-Type}), the reason from Module-Failure-Message, the
        method as ``fr:`` and FreeRADIUS's Auth-Type (``auth``)."""
        attributes, nas = await self._call(request)
        accept = ANSWERS.get(request.query.get("packet", ""))
        if accept is None:
            raise web.HTTPBadRequest(text="the uri must carry &packet=%{reply:Packet-Type} "
                                          "(Access-Accept or Access-Reject)")
        auth = request.query.get("auth", "").strip().lower()
        reason = "" if accept else str(attributes.get("Module-Failure-Message")
                                       or "rejected by FreeRADIUS")
        decision = Decision(accept, {}, method=f"fr:{auth}"[:16] if auth else "fr",
                            reason=reason[:RESULT_LENGTH])
        outcome = await self._stored(ForeignLogin(attempt_of(attributes), nas, decision))
        if isinstance(outcome, Exception):  # fail: an accept that cannot be recorded is not
            log.error("login from %s not recorded: %s", nas, outcome)
            raise web.HTTPServiceUnavailable(text="not recorded")
        return web.Response(status=STATUS["ok"])

    async def accounting(self, request: web.Request) -> web.Response:
        """Stored as the listener stores it; the enforcer sees it after the commit. A store
        failure is a 503: FreeRADIUS does not answer, and the NAS retries."""
        attributes, nas = await self._call(request)
        try:
            event = event_from(attributes, nas, datetime.now(UTC))
        except UnusableAccounting as exc:
            log.warning("rlm_rest accounting from %s not recorded: %s", nas, exc)
            return web.Response(status=STATUS["ok"])  # never recordable: answered, no retries
        outcome = await self._stored(event)
        if isinstance(outcome, Exception):
            log.error("accounting from %s not stored: %s", nas, outcome)
            raise web.HTTPServiceUnavailable(text="not stored")
        return web.Response(status=STATUS["ok"])
