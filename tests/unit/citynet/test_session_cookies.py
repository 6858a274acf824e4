"""The session cookie's signer, made once per key: a cookie signed with the key in force
is read back, and one signed before the key changed is not (nor after a fallback goes);
its serializer writes and reads what Flask's does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, session
from flask.json.tag import JSONTag, TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from itsdangerous.encoding import base64_decode
from markupsafe import Markup

from citynet.app import SessionCookies, SessionJSON


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


def _sessions() -> list[dict[str, Any]]:
    handoff = {"res": "notyet", "uamip": "10.1.0.1", "uamport": 3990, "mac": "AA-BB",
               "reply": "上网券无效", "login_url": "", "signed": True, "ratio": 0.5,
               "none": None}
    return [
        {"handoff": handoff, "csrf": "x", "lang": "en", "lang_chosen": True},
        {"_flashes": [("ok", "done"), ("error", Markup("<b>no</b>"))]},
        {"raw": b"\x00\xff", "at": datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC),
         "id": uuid.UUID(int=7), "pair": (1, "two"), "nested": [{"a": [1, (2, 3)]}]},
        {" t": "a key that is a tag"}, {"inner": {" di": {"x": 1}}, "one": {" m": "x"}},
        {}, {"deep": {"a": {"b": {"c": ["d", {"e": None}]}}}},
    ]


@pytest.mark.parametrize("value", _sessions())
def test_the_session_is_written_and_read_as_flasks_serializer_does(
        value: dict[str, Any]) -> None:
    ours, flasks = SessionJSON(), TaggedJSONSerializer()
    with Flask(__name__).app_context():
        written = ours.dumps(value)
        assert written == flasks.dumps(value)
        assert ours.loads(written) == flasks.loads(written) == value


def test_plain_values_are_not_asked_of_every_tag() -> None:
    """The tags are for what JSON cannot say: a text or a number is not theirs."""
    asked: list[object] = []

    class Watching(JSONTag):
        __slots__ = ()

        def check(self, value: object) -> bool:
            asked.append(value)
            return False

    serializer = SessionJSON()
    serializer.register(Watching, index=0)
    with Flask(__name__).app_context():
        serializer.dumps({"handoff": {"res": "success", "uamport": 3990}, "csrf": "x"})
    assert asked == []


@pytest.mark.parametrize("userurl", ["http://example.com/news", "http://example.com/"
                                     + "x" * 3000])  # past the 4 KiB window once encoded
def test_the_cookie_is_flasks_format_both_ways(userurl: str) -> None:
    """A cookie signed here is read by Flask's own session interface with the same key,
    and the reverse: only the compression's settings differ."""
    app = _app()
    value = {**_sessions()[0], "handoff": {**_sessions()[0]["handoff"], "userurl": userurl}}
    ours = SessionCookies().get_signing_serializer(app)
    flasks = SecureCookieSessionInterface().get_signing_serializer(app)
    assert ours is not None and flasks is not None
    with app.app_context():
        written = ours.dumps(value)
        assert written.startswith(".")  # compressed, as Flask's would be
        # with a 4 KiB window (the zlib header's first byte), not zlib.compress's 32 KiB
        assert base64_decode(written[1:].split(".")[0])[0] == 0x48
        assert flasks.loads(written) == value
        assert ours.loads(flasks.dumps(value)) == value
        assert len(written) <= len(flasks.dumps(value)) + 8
