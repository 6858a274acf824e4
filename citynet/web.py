"""The web app factory: one Flask app, every domain's blueprint registered here."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, redirect, url_for
from sqlalchemy import text
from werkzeug.wrappers.response import Response as BaseResponse

from citynet import __version__
from citynet.config import RadiusConfig
from citynet.crypto import SecretBox
from citynet.db import Store

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; "
                               "style-src 'self' 'unsafe-inline'",
    "X-Frame-Options": "DENY",
}


def create_app(store: Store, radius: RadiusConfig | None = None,
               test_config: dict[str, Any] | None = None,
               box: SecretBox | None = None) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese names stay readable
    if test_config:
        app.config.update(test_config)
    app.extensions["citynet.store"] = store
    app.extensions["citynet.radius"] = radius or RadiusConfig()
    app.extensions["citynet.box"] = box

    from inventory.web import blueprint as inventory_blueprint
    from radius.rest import blueprint as radius_rest_blueprint

    app.register_blueprint(inventory_blueprint)
    app.register_blueprint(radius_rest_blueprint)

    @app.get("/")
    def home() -> BaseResponse:
        return redirect(url_for("inventory.overview"))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with store.session() as session:
            session.execute(text("SELECT 1"))  # the store answers
        return {"status": "ok", "version": __version__}

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def store() -> Store:
    """The store of the app handling this request."""
    found: Store = current_app.extensions["citynet.store"]
    return found
