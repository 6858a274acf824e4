"""Which language a browser's Accept-Language or a NAS's lang= names, per page."""

from __future__ import annotations

import pytest

from citynet import languages
from citynet.languages import PORTAL_LANGUAGES


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
