"""The one CSRF guard, for staff pages and the portal."""

from __future__ import annotations

import pytest
from flask import Flask, session
from werkzeug.exceptions import BadRequest

from citynet import csrf


@pytest.fixture
def app() -> Flask:
    made = Flask(__name__)
    made.secret_key = "test only"
    return made


def test_the_token_is_made_once_per_key(app: Flask) -> None:
    with app.test_request_context("/"):
        staff, portal = csrf.token("staff_csrf"), csrf.token("csrf")
        assert staff != portal and len(staff) >= 32
        assert csrf.token("staff_csrf") == staff == session["staff_csrf"]


def test_a_post_with_the_session_token_passes(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data={"csrf": "right"}):
        session["csrf"] = "right"
        csrf.check("csrf")


@pytest.mark.parametrize("form", [{}, {"csrf": ""}, {"csrf": "forged"},
                                  {"csrf": "right"}])  # the other key's token
def test_a_post_without_it_is_refused(app: Flask, form: dict[str, str]) -> None:
    with app.test_request_context("/", method="POST", data=form):
        session["csrf"], session["staff_csrf"] = "right", "other"
        with pytest.raises(BadRequest, match="reload the page"):
            csrf.check("staff_csrf")


def test_an_empty_session_token_matches_nothing() -> None:
    assert not csrf.matches("", "")
    assert csrf.matches("abc", "abc") and not csrf.matches("abd", "abc")
