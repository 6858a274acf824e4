"""Which language a browser's Accept-Language or a NAS's lang= names, per page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, session

from citynet import languages
from citynet.languages import LANGUAGES, PORTAL_LANGUAGES


@pytest.mark.parametrize(("tag", "portal", "other_pages"), [
    ("zh-CN", "zh-CN", "zh-CN"), ("zh", "zh-CN", "zh-CN"), ("zh-Hans-HK", "zh-CN", "zh-CN"),
    ("zh-HK", "zh-Hant", "zh-CN"), ("zh-TW", "zh-Hant", "zh-CN"), ("zh_tw", "zh-Hant", "zh-CN"),
    ("zh-MO", "zh-Hant", "zh-CN"), ("zh-Hant", "zh-Hant", "zh-CN"),
    ("zh-Hant-HK", "zh-Hant", "zh-CN"), ("en", "en", "en"), ("en_US", "en", "en"),
])
def test_a_tag_names_the_language_a_page_has(tag: str, portal: str, other_pages: str) -> None:
    assert languages.match(tag, PORTAL_LANGUAGES) == portal
    assert languages.match(tag) == other_pages  # a page without Traditional: Simplified


@pytest.mark.parametrize("tag", ["fr", "", None, "english", "*"])
def test_other_tags_name_none(tag: str | None) -> None:
    assert languages.match(tag, PORTAL_LANGUAGES) is None


def test_the_first_candidate_that_names_one_wins_and_chinese_is_the_default() -> None:
    assert languages.pick("fr", "zh-HK", "en", offered=PORTAL_LANGUAGES) == "zh-Hant"
    assert languages.pick("fr", "de") == "zh-CN"


def _page(query: str = "", accept: str = "") -> Any:
    app = Flask(__name__)
    app.secret_key = "test only"
    return app.test_request_context(f"/{query}", headers={"Accept-Language": accept})


@pytest.mark.parametrize(("offered", "asked", "kept"), [
    (PORTAL_LANGUAGES, "zh-Hant", "zh-Hant"), (PORTAL_LANGUAGES, "en", "en"),
    (LANGUAGES, "zh-Hant", None),  # not offered here: no switch
    (LANGUAGES, "fr", None), (LANGUAGES, "", None),
])
def test_the_picker_keeps_only_an_offered_language(
        offered: tuple[str, ...], asked: str, kept: str | None) -> None:
    with _page(f"?lang={asked}", "en"):
        assert languages.switch("page_lang", offered) is (kept is not None)
        assert session.get("page_lang") == kept
        assert languages.of_request("page_lang", offered) == (kept or "en")


def test_the_session_choice_beats_the_browser_which_beats_the_default() -> None:
    with _page(accept="fr, zh-HK;q=0.8, en;q=0.5"):
        assert languages.of_request("page_lang", PORTAL_LANGUAGES) == "zh-Hant"
        assert languages.of_request("page_lang") == "zh-CN"  # Simplified where no Hant
        session["page_lang"] = "en"
        assert languages.of_request("page_lang", PORTAL_LANGUAGES) == "en"
    with _page(accept="fr, de"):
        assert languages.browser_preference(PORTAL_LANGUAGES) == "zh-CN"
    with _page(accept="fr, en;q=0.5"):  # every tag by quality, not only the first
        assert languages.browser_preference() == "en"
