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
``tunnel`` answers the generated inner-tunnel server for PEAP and TTLS logins
(:mod:`citynet.tunnel`): the domains registering ``tunnel_logins`` answer it (network
admission's people): PEAP's NT-hash read on the loop like the rounds' store work (one
indexed read costs less than handing it to a thread and back, measured in
docs/benchmarks.md); TTLS/PAP's password check, argon2id, on a thread.

Access: the token in an ``X-Citynet-Token`` header, and a source address inside
``radius.rest_allow``. (Just past 400 lines: one HTTP contract, its five calls together.)
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aiohttp import web

from citynet import metrics
from citynet.logs import Throttle, store_failed
from citynet.tunnel import TunnelAnswer, TunnelLogin, TunnelSource, Verdict
from radius import codec
from radius.accounting import Job, Outcome, UnusableAccounting, event_from
from radius.decisions import Decision, ForeignLogin, Login, LoginAttempt
from radius.freeradius import DECIDED, TOKEN_HEADER
from radius.listener import RadiusServer
from radius.policy import UNCLAIMED
from radius.refusals import refusal_reason
from radius.vendors import in_vendor_terms

log = logging.getLogger(__name__)

PREFIX = "/radius/rest"
SECTIONS = frozenset({"authorize", "authenticate", "post-auth", "accounting", "tunnel"})
METRICS = "/metrics"  # beside the API, not under it: Prometheus's usual path
# rlm_rest's reading of our status codes (FreeRADIUS 3.2 mods-available/rest).
STATUS = {"ok": 204, "updated": 200, "reject": 401, "notfound": 404, "userlock": 403,
          "fail": 503}
# below the generated config's rlm_rest timeout (2 s): a decision FreeRADIUS no longer
# waits for is not made at all (no token spent, no record)
DECISION_WAIT = 1.5
# no call waits longer than this for its round (one is never lost; should it be, the
# call fails instead of hanging)
STORE_WAIT = 30.0
BODY_LIMIT = 64 * 1024  # rlm_rest's JSON of one request is a few hundred bytes
ANSWERS = {"Access-Accept": True, "Access-Reject": False}  # post-auth's packet=
# post-auth's auth= (control:Auth-Type) of logins FreeRADIUS authenticated that citynet's
# gates (citynet.gates) still decide: 802.1X, admitted on the person's policy
ADMITTED = frozenset({"eap"})
# a Reject's reasons that mean "not ours": no such voucher, no remembered device. (A phone
# number's refusal says "no valid login token" whether it has none or gave a wrong or
# spent one: that is a 401 with its Reply-Message.)
NOBODYS = frozenset({UNCLAIMED["voucher"], UNCLAIMED["mac"]})
# FreeRADIUS's EAP-Type numbers (RFC 3748 and IANA), should rlm_rest send the number
EAP_TYPES = {26: "MSCHAPv2", 25: "PEAP", 21: "TTLS", 13: "TLS"}


class JsonAttributes:
    """rlm_rest's JSON body, read like a decoded packet (first value of an attribute)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def get(self, name: str) -> Any:
        entry = self.body.get(name)
        if not isinstance(entry, dict):
            return None
        values = entry.get("value")
        if not isinstance(values, list) or not values:
            return None
        value = values[0]
        if entry.get("type") == "octets" and isinstance(value, str) and value.startswith("0x"):
            try:
                return bytes.fromhex(value[2:])
            except ValueError:
                return None
        return codec.without_nul(_as_sent(value)) if isinstance(value, str) else value


def _as_sent(text: str) -> str:
    """rlm_rest 3.2 writes each byte >= 0x80 of a string as its own \\u00XX escape, so
    UTF-8 (a Chinese SSID, a full-width voucher code) arrives read as Latin-1: undo that
    when the text is exactly that."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:  # real text beyond Latin-1, or Latin-1 that is no UTF-8
        return text


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON that FreeRADIUS sends")


# rlm_rest's body as json.loads reads bytes (their encoding detected), NaN and Infinity
# refused
_JSON = json.JSONDecoder(parse_constant=_no_constant)


MAX_VALUE = 253  # bytes in one RADIUS attribute (RFC 2865 §5)


class BadAttributes(ValueError):
    """An attribute FreeRADIUS would never send in this form."""


def _text(attributes: JsonAttributes, name: str) -> str:
    value = attributes.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadAttributes(f"{name} must be a string")
    try:
        value.encode()
    except UnicodeError:  # a lone surrogate from a \\ud800 escape: no text at all
        raise BadAttributes(f"{name} is not valid text") from None
    # characters, not bytes: text read back as Latin-1 has a character per byte sent, and
    # no character is less than a byte
    if len(value) > MAX_VALUE:
        raise BadAttributes(f"{name} has {len(value)} characters: a RADIUS attribute holds "
                            f"at most {MAX_VALUE} bytes")
    return value


def _octets(attributes: JsonAttributes, name: str) -> bytes | None:
    value = attributes.get(name)
    if value is not None and not isinstance(value, bytes):
        raise BadAttributes(f"{name} must be octets (type octets, value 0x…)")
    return value


SERVICE_TYPES = {10: "Call-Check"}  # the one number policy reads (a MAC bypass request)


def _service_type(attributes: JsonAttributes) -> str:
    """Service-Type as its name (rlm_rest writes the name; a number is named too)."""
    value = attributes.get("Service-Type")
    if isinstance(value, int):
        return SERVICE_TYPES.get(value, str(value))
    return _text(attributes, "Service-Type")


def login_attempt(attributes: JsonAttributes, authenticated: str = "") -> LoginAttempt:
    """The login in the attributes; :class:`BadAttributes` if one has a form FreeRADIUS
    never sends (policy compares strings and bytes, nothing else). ``authenticated``:
    how FreeRADIUS authenticated it already (``eap``)."""
    chap = _octets(attributes, "CHAP-Password")
    return LoginAttempt(
        user=_text(attributes, "User-Name"),
        password=None if chap else (_text(attributes, "User-Password") or None),
        chap=(chap, _octets(attributes, "CHAP-Challenge") or b"") if chap else None,
        calling_station=_text(attributes, "Calling-Station-Id"),
        called_station=_text(attributes, "Called-Station-Id"),
        framed_ip=_text(attributes, "Framed-IP-Address"),
        service_type=_service_type(attributes),
        nas_port_id=_text(attributes, "NAS-Port-Id"),
        authenticated=authenticated,
        client_certificate=_text(attributes, "TLS-Client-Cert-Serial") if authenticated else "")


def answer(attributes: dict[str, object], status: int, **control: str) -> web.Response:
    """Reply attributes in rlm_rest's response form (octets as 0x hex)."""
    body: dict[str, object] = {f"control:{name}": value for name, value in control.items()}
    body.update({f"reply:{name}": "0x" + value.hex() if isinstance(value, bytes) else value
                 for name, value in attributes.items()})
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _refusal(status: int, reason: str) -> web.Response:
    return web.Response(text=reason + "\n", status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def probe(bind: str, port: int) -> None:
    """The OSError the API meets on ``port`` if a program listens there (a group sharing
    it too), else nothing: bound alone and freed again, before a serve starts its listener
    processes. With SO_REUSEADDR and IPv6 alone, as asyncio binds: an earlier run's
    connections in TIME_WAIT do not count, nor IPv4's listeners for "::"."""
    for family, kind, proto, _name, address in socket.getaddrinfo(
            bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE):
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)


class RestApi:
    """rlm_rest's four calls on a listener's rounds (one event loop: the service's)."""

    def __init__(self, server: RadiusServer, token: str, allow: list[str],
                 metrics_allow: Sequence[str] = ("127.0.0.1/32", "::1/128"),
                 tunnel_sources: Sequence[TunnelSource] = ()) -> None:
        """``metrics_allow``: who may GET /metrics (Prometheus; no token, by address);
        ``tunnel_sources``: who answers logins inside PEAP and TTLS, asked in order."""
        if not token:
            raise ValueError("the rlm_rest API needs radius.rest_token")
        self.server = server
        self.tunnel_sources = tuple(tunnel_sources)
        self.token = token.encode()
        self.allow = [ipaddress.ip_network(network) for network in allow]
        # every call's source address, parsed and matched once per address (FreeRADIUS's
        # few), not once per call; bounded, should many addresses try
        self._source = lru_cache(maxsize=1024)(self._source_of)
        self.metrics_allow = list(metrics_allow)
        self.app = web.Application(client_max_size=BODY_LIMIT, middlewares=[self._guard])
        self.app.add_routes([web.post(f"{PREFIX}/authorize", self.authorize),
                             web.post(f"{PREFIX}/authenticate", self.authenticate),
                             web.post(f"{PREFIX}/post-auth", self.post_auth),
                             web.post(f"{PREFIX}/accounting", self.accounting),
                             web.post(f"{PREFIX}/tunnel", self.tunnel),
                             web.get(METRICS, self.metrics)])
        self._runner: web.AppRunner | None = None
        self._throttle = Throttle()
        self.refusals: Counter[str] = Counter()

    async def start(self, bind: str, port: int, share: bool = False) -> int:
        """Listen; the port (``port`` 0: any free one). ``share``: the node's listener
        processes serve the API on one port (SO_REUSEPORT): the kernel spreads the
        connections (as for the UDP ports, :func:`radius.listener.listen`)."""
        # FreeRADIUS gives up on a call after 2 s: no call is worth a long shutdown
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                               shutdown_timeout=5)
        await runner.setup()
        try:
            await web.TCPSite(runner, bind, port, reuse_port=share).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        found: int = runner.addresses[0][1]
        return found

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, why: str, source: object) -> web.Response:
        """403, counted; logged at most once a minute per reason (a misconfigured
        FreeRADIUS calls at login rate)."""
        self.refusals[why] += 1
        self.server.counters[f"rlm_rest refused: {why}"] += 1
        if self._throttle.due(why):
            log.warning("rlm_rest calls refused: %s (last from %s; counted, logged at most "
                        "once a minute)", why, source)
        return _refusal(403, why)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == METRICS:  # Prometheus: by address (metrics.allow), no token
            if not metrics.may_scrape(request.remote, self.metrics_allow):
                raise web.HTTPNotFound()
            return await handler(request)
        refused, source = self._source(request.remote)
        if refused:
            return self._refuse(refused, source)
        # aiohttp keeps undecodable header bytes as surrogates: compare them as bytes
        given = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "surrogateescape")
        if not given or not hmac.compare_digest(given, self.token):
            return self._refuse(f"no valid {TOKEN_HEADER} (radius.rest_token)", source)
        # the metrics' view of the calls: rlm_rest <section> <status> (four routes)
        section = request.path.rsplit("/", 1)[-1]
        section = section if section in SECTIONS else "other"
        try:
            response = await handler(request)
        except web.HTTPException as answer:  # 400 for bad attributes, 404 for no route
            self.server.counters[f"rlm_rest {section} {answer.status}"] += 1
            raise
        self.server.counters[f"rlm_rest {section} {response.status}"] += 1
        return response

    def _source_of(self, remote: str | None) -> tuple[str, object]:
        """(why a call from ``remote`` is refused, "" if it is not; its source as logged)."""
        try:
            address = ipaddress.ip_address(remote or "")
        except ValueError:
            return "no source address", remote
        # on a dual-stack socket ("::"), IPv4 callers arrive as ::ffff:a.b.c.d
        source = getattr(address, "ipv4_mapped", None) or address
        if not any(source in network for network in self.allow):
            return "not in radius.rest_allow", source
        return "", source

    async def metrics(self, _request: web.Request) -> web.Response:
        """This process's metrics (the node's, with PROMETHEUS_MULTIPROC_DIR set)."""
        self.server.export_counts()
        return web.Response(body=metrics.exposition(),
                            headers={"Content-Type": metrics.CONTENT_TYPE})

    @staticmethod
    def _attempt(attributes: JsonAttributes, authenticated: str = "") -> LoginAttempt:
        try:
            return login_attempt(attributes, authenticated)
        except BadAttributes as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None

    async def _call(self, request: web.Request) -> tuple[JsonAttributes, str]:
        nas = request.query.get("nas", "")
        if not nas:
            raise web.HTTPBadRequest(text="the uri must carry ?nas=%{client:shortname}")
        raw = await request.read()
        try:
            # json.loads with an option builds a decoder per call: this one is built once
            body = _JSON.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected rlm_rest's JSON body (body = 'json')")
        return JsonAttributes(body), nas

    async def _stored(self, job: Job, nas: str) -> Outcome:
        """The job's outcome once the round it joined committed; 503 (FreeRADIUS: fail —
        a login rejected, accounting unanswered) if the store failed, or if FreeRADIUS
        would no longer be waiting for a login."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        def settle(outcome: Outcome) -> None:
            if not done.done():  # the caller may have gone
                done.set_result(outcome)

        self.server.submit(job, settle)
        try:
            async with asyncio.timeout(STORE_WAIT):
                outcome = await done
        except TimeoutError:
            outcome = TimeoutError(f"no answer from the store in {STORE_WAIT:g} s")
        if isinstance(outcome, Exception):
            store_failed(log, f"rlm_rest {type(job).__name__} from {nas} not stored", outcome)
            raise web.HTTPServiceUnavailable(text="not stored")
        return outcome

    async def _decide(self, attempt: LoginAttempt, nas: str) -> Decision:
        """Decided and recorded (durably) on the NAS's profile; the reply attributes in
        the NAS vendor's terms (its own rate attributes beside WISPr's, as the UDP
        listener sends them: :mod:`radius.vendors`)."""
        entry = self.server.registry.by_name(nas)
        outcome = await self._stored(Login(attempt, nas, entry.policy if entry else "default",
                                           deadline=time.monotonic() + DECISION_WAIT), nas)
        assert isinstance(outcome, Decision)  # noqa: S101 - what a Login's outcome is
        if entry is None:
            return outcome
        return replace(outcome, attributes=in_vendor_terms(entry.vendor, outcome.attributes))

    async def authorize(self, request: web.Request) -> web.Response:
        """The whole login in one call: Accept (updated, with control:Auth-Type), reject,
        or notfound for a User-Name that is nobody's here; recorded before the answer."""
        attributes, nas = await self._call(request)
        decision = await self._decide(self._attempt(attributes), nas)
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
        decision = await self._decide(self._attempt(attributes), nas)
        status = STATUS["updated"] if decision.accept else STATUS["reject"]
        return answer(decision.attributes, status)

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
        if accept and auth in ADMITTED:
            return await self._admit(attributes, nas, auth)
        reason = "" if accept else refusal_reason(str(attributes.get(
            "Module-Failure-Message") or ""), attributes.get("EAP-Type"))
        # (the login record cuts both to its columns)
        decision = Decision(accept, {}, method=f"fr:{auth}" if auth else "fr", reason=reason)
        # FreeRADIUS answers a call it gave up on with a reject, and post-auth calls again
        # for that: a record written later than that would say what did not happen
        # (a 503 here: an accept that cannot be recorded becomes a reject)
        await self._stored(ForeignLogin(self._attempt(attributes), nas, decision,
                                        deadline=time.monotonic() + DECISION_WAIT), nas)
        return web.Response(status=STATUS["ok"])

    async def _admit(self, attributes: JsonAttributes, nas: str, auth: str) -> web.Response:
        """An 802.1X login FreeRADIUS authenticated: the gates' decision (the person's
        role policy: VLAN, filter; or a reject — disabled, out of hours, too many
        devices), recorded before the answer. FreeRADIUS sends our reply attributes with
        its Access-Accept, or turns it into an Access-Reject on our 401."""
        decision = await self._decide(self._attempt(attributes, auth), nas)
        if decision.accept:
            return answer(decision.attributes, STATUS["updated"])
        return answer(decision.attributes, STATUS["reject"])

    async def accounting(self, request: web.Request) -> web.Response:
        """Stored as the listener stores it; the enforcer sees it after the commit. A store
        failure is a 503: FreeRADIUS does not answer, and the NAS retries."""
        attributes, nas = await self._call(request)
        try:
            event = event_from(attributes, nas, datetime.now(UTC))
        except UnusableAccounting as exc:
            log.warning("rlm_rest accounting from %s not recorded: %s", nas, exc)
            return web.Response(status=STATUS["ok"])  # never recordable: answered, no retries
        await self._stored(event, nas)
        return web.Response(status=STATUS["ok"])

    async def tunnel(self, request: web.Request) -> web.Response:
        """A login inside PEAP or TTLS (the inner-tunnel server's authorize): TTLS/PAP's
        decision (Auth-Type := Accept, or 401), PEAP-MSCHAPv2's NT hash for FreeRADIUS's
        mschap (200 with control:NT-Password), or 404 for a name nobody knows."""
        attributes, nas = await self._call(request)
        try:
            eap_type = attributes.get("EAP-Type")
            login = TunnelLogin(
                user=_text(attributes, "User-Name"),
                password=_text(attributes, "User-Password") or None,
                eap_type=EAP_TYPES.get(eap_type, str(eap_type)) if isinstance(
                    eap_type, int) else str(eap_type or ""),
                nas=nas, calling_station=_text(attributes, "Calling-Station-Id"))
        except BadAttributes as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        found = TunnelAnswer(Verdict.NOTFOUND)
        for source in self.tunnel_sources:
            try:
                # PEAP's NT-hash read is quicker than a thread hand-off, on the loop; a
                # TTLS password is checked with argon2id (slow by design: tens of ms), on a
                # thread, so wrong passwords sent in a row cannot stall every round
                found = (await asyncio.to_thread(source, login) if login.password is not None
                         else source(login))
            except Exception as exc:  # the store, or the secret box: fail closed
                store_failed(log, f"rlm_rest tunnel login from {nas} not answered", exc)
                raise web.HTTPServiceUnavailable(text="not answered") from None
            if found.verdict is not Verdict.NOTFOUND:
                break
        self.server.counters[f"tunnel {found.verdict}"] += 1
        if found.verdict is Verdict.ACCEPT:
            return answer(dict(found.reply), STATUS["updated"], **{"Auth-Type": "Accept"})
        if found.verdict is Verdict.CREDENTIALS:
            return answer(dict(found.reply), STATUS["updated"], **found.control)
        if found.verdict is Verdict.REJECT:
            return answer({"Reply-Message": found.reason}, STATUS["reject"])
        return answer({}, STATUS["notfound"])
