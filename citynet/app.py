"""The web app factory, a composition root: one Flask app, every registered domain's
blueprints and set-up (citynet/domains.py). Blueprints import the helpers of
:mod:`citynet.web`, never this module."""

from __future__ import annotations

import inspect
import logging
import secrets
import zlib
from collections.abc import Callable, Sequence
from types import FunctionType
from typing import Any

from flask import Flask, Request, Response, redirect, request, url_for
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import __version__
from citynet.config import Config
from citynet.crypto import SESSION_KEY_META, SecretBox
from citynet.db import MetaEntry, Store, get_meta, table, upsert_insert
from citynet.domains import Domain, registered
from citynet.logs import store_failed
from citynet.web import headers_by_default

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'",
    "X-Frame-Options": "DENY",
}
# both languages: nothing of the request's own language may be read without the store
STORE_DOWN = "服务暂时不可用，请稍后再试。\nService temporarily unavailable, please try again.\n"
STORE_RETRY_SECONDS = "10"


class WebApp(Flask):
    """Flask, answering its "is this hook a coroutine function?" cheaply for a plain
    function: Flask asks it of every before- and after-request hook, context processor
    and view on every request (a portal request runs about thirteen), through
    ``inspect``'s six calls each. For a plain ``def`` the code's flag is the whole
    answer (what ``inspect.iscoroutinefunction`` reads after unwrapping methods and
    partials); anything else goes to Flask as before."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if type(func) is FunctionType and not func.__code__.co_flags & inspect.CO_COROUTINE:
            return func
        return super().ensure_sync(func)


# the values JSON writes as they are, which no tag of Flask's serializer changes
_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


class SessionJSON(TaggedJSONSerializer):
    """Flask's session serializer, the same JSON both ways, with the plain values (a
    portal session is a dozen texts and the hand-off's seventeen) passed by at sight:
    Flask asks each of its eight tags in turn whether it is theirs — a call per tag per
    value, on each save of the session. Anything else goes through the tags as before."""

    __slots__ = ()

    def tag(self, value: Any) -> Any:
        kind = type(value)
        if kind in _AS_THEY_ARE:
            return value
        if kind is dict and (len(value) != 1 or next(iter(value)) not in self.tags):
            return {key: item if type(item) in _AS_THEY_ARE else self.tag(item)
                    for key, item in value.items()}  # what PassDict makes of it
        return super().tag(value)

    def _untag_scan(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:  # JSON read back: only dict, list and the plain values
            return self.untag({key: item if type(item) in _AS_THEY_ARE
                               else self._untag_scan(item) for key, item in value.items()})
        if kind is list:
            return [self._untag_scan(item) for item in value]
        return value


class SessionSigning(URLSafeTimedSerializer):
    """itsdangerous's signed cookie as Flask makes it, read as before, its payload
    compressed with a 4 KiB window and a small hash table: with ``zlib.compress``'s
    defaults (32 KiB window, 32 Ki-entry hash table) deflate allocates about 256 KiB and
    clears its table for each session of a few hundred bytes — 3 % of a voucher login's
    instructions in the web process, for its two saves. A cookie is at most 4 KiB, and
    what it compresses to is as short (the portal's: 239 and 288 bytes either way)."""

    def dump_payload(self, obj: Any) -> bytes:
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)  # not compressed
        packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 12, 4)
        compressed = packer.compress(json) + packer.flush()
        if len(compressed) < len(json) - 1:  # itsdangerous's rule and mark
            return b"." + base64_encode(compressed)
        return base64_encode(json)


class SessionCookies(SecureCookieSessionInterface):
    """``__Host-`` prefixed and Secure over HTTPS; a plain name over HTTP, where browsers
    refuse ``__Host-`` cookies (a captive portal is often first reached over HTTP)."""

    serializer = SessionJSON()

    def get_cookie_name(self, app: Flask) -> str:
        from flask import request

        return "__Host-citynet" if _secure(request) else "citynet"

    def get_cookie_secure(self, app: Flask) -> bool:
        from flask import request

        return _secure(request)

    def get_cookie_domain(self, app: Flask) -> None:
        return None  # host-only, as __Host- demands

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's, made once per key rather than twice per request (opening and saving
        the session): making one signs an empty dict to learn its serializer's kind —
        with the TaggedJSON serializer, a thirtieth of a portal page's CPU. Made anew
        when the key or its fallbacks change."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        held = self._signing
        if held is None or held[0] != keys:
            held = self._signing = (keys, None if not app.secret_key else SessionSigning(
                [*keys[1], app.secret_key],  # as Flask's: the key in force last
                salt=self.salt, serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation,
                               "digest_method": self.digest_method}))
        return held[1]

    _signing: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None


def _secure(request: Request) -> bool:
    return bool(request.is_secure)


def session_key(store: Store, box: SecretBox | None) -> bytes:
    """The key that signs session cookies: random once, kept sealed in the store so every
    worker and restart shares it; per process when there is no secrets key (tests)."""
    if box is None:
        return secrets.token_bytes(32)
    with store.session() as session:
        # several workers may start at once: the first key written wins, all read it back
        session.execute(upsert_insert(table(MetaEntry), store.url.get_backend_name()).values(
            key=SESSION_KEY_META, value=box.seal(secrets.token_hex(32)))
            .on_conflict_do_nothing(index_elements=["key"]))
    with store.session() as session:
        sealed = get_meta(session, SESSION_KEY_META)
        assert sealed is not None  # noqa: S101 - written just above
        return box.open(sealed).encode()


def create_app(store: Store, config: Config | None = None, *, box: SecretBox | None = None,
               test_config: dict[str, Any] | None = None,
               domains: Sequence[Domain] | None = None) -> Flask:
    """The web app of ``domains`` (the registered ones unless given): the kernel's pages,
    then each domain's blueprints and set-up, in the registry's order."""
    config = config or Config()
    app = WebApp(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese names stay readable
    app.secret_key = session_key(store, box)
    app.session_interface = SessionCookies()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      MAX_CONTENT_LENGTH=1024 * 1024)
    if test_config:
        app.config.update(test_config)
    if config.web.proxies:  # the client as the proxies saw it (web.proxies)
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.web.proxies, x_proto=config.web.proxies)
    app.extensions["citynet.store"] = store
    app.extensions["citynet.config"] = config
    app.extensions["citynet.box"] = box

    from citynet import catalogs
    from citynet.access import check_permissions
    from citynet.access import setup as setup_access
    from citynet.admin import setup as setup_admin

    domains = registered() if domains is None else tuple(domains)
    app.extensions["citynet.domains"] = domains
    catalogs.setup(app, domains)
    setup_access(app, domains)
    setup_admin(app, domains)
    for domain in domains:
        for blueprint in domain.blueprints():
            app.register_blueprint(blueprint)
    for domain in domains:
        if domain.setup is not None:
            domain.setup(app, config)
    check_permissions(app)

    @app.get("/")
    def home() -> BaseResponse:
        return redirect(url_for("admin.home"))  # what the signed-in role may open

    @app.get("/api/openapi.json")
    def openapi_document() -> dict[str, Any]:
        from citynet.openapi import document

        return document(domains)

    from citynet.metrics import setup as setup_metrics

    setup_metrics(app, config.metrics.allow)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with store.session() as session:
            session.execute(text("SELECT 1"))  # the store answers
        return {"status": "ok", "version": __version__}

    @app.errorhandler(OperationalError)
    def store_unavailable(exc: OperationalError) -> tuple[str, int, dict[str, str]]:
        """The store is down (a failover): 503 with a retry hint, and one log line per
        cause a minute — not a traceback per request."""
        store_failed(log, f"web {request.method} {request.path} not served", exc)
        return STORE_DOWN, 503, {"Content-Type": "text/plain; charset=utf-8",
                                 "Retry-After": STORE_RETRY_SECONDS}

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers_by_default(response.headers, SECURITY_HEADERS.items())
        return response

    return app
