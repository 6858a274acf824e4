"""The session cookie's signer, made once per key: a cookie signed with the key in force
is read back, and one signed before the key changed is not (nor after a fallback goes)."""

from __future__ import annotations

from flask import Flask, session

from citynet.app import SessionCookies


def _app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "first key"
    app.session_interface = SessionCookies()

    @app.get("/set")
    def set_it() -> str:
        session["lang"] = "en"
        return "set"

    @app.get("/get")
    def get_it() -> str:
        return str(session.get("lang", "none"))

    return app


def test_the_cookie_is_read_back_until_its_key_changes() -> None:
    app = _app()
    browser = app.test_client()
    browser.get("/set")
    assert browser.get("/get").get_data(as_text=True) == "en"
    assert app.session_interface.get_signing_serializer(app) is (
        app.session_interface.get_signing_serializer(app))  # made once
    app.secret_key = "second key"
    assert browser.get("/get").get_data(as_text=True) == "none"


def test_a_fallback_key_is_followed_while_it_is_kept() -> None:
    app = _app()
    browser = app.test_client()
    browser.get("/set")
    app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = "second key", ["first key"]
    assert browser.get("/get").get_data(as_text=True) == "en"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert browser.get("/get").get_data(as_text=True) == "none"
