"""The portal's messages by key in its three languages (through the catalogs), and a NAS's
reply in the page's one."""

from __future__ import annotations

import re

import pytest
from flask import Flask, g

from citynet import catalogs
from portal import i18n
from portal.manifest import DOMAIN
from radius import guesses, policy


def test_every_radius_reason_has_traditional_wording() -> None:
    assert set(i18n.REASONS_TRADITIONAL) == set(policy.MESSAGES)


@pytest.mark.parametrize(("reply", "language", "shown"), [
    ("unknown voucher / 上网券无效", "zh-CN", "上网券无效"),
    ("unknown voucher / 上网券无效", "zh-Hant", "上網券無效"),
    ("unknown voucher / 上网券无效", "en", "unknown voucher"),
    ("上网券无效", "en", "unknown voucher"),  # a profile worded in Chinese only
    ("daily time used up", "zh-CN", "今日上网时长已用完"),
    ("quota over / 配额已满", "zh-Hant", "配额已满"),  # another NAS's own two halves
    ("quota over / 配额已满", "en", "quota over"),
    ("Radius timeout", "zh-CN", "Radius timeout"),  # unknown: as sent, never lost
    (policy.message(guesses.HELD, "both"), "zh-CN", "上网券输入错误次数过多，请稍后再试"),
    (policy.message(guesses.HELD, "both"), "zh-Hant", "上網券輸入錯誤次數過多，請稍後再試"),
    (policy.message(guesses.HELD, "zh-CN"), "en", guesses.HELD),
])
def test_a_nas_reply_is_shown_in_the_page_language_only(reply: str, language: str,
                                                         shown: str) -> None:
    assert i18n.nas_reply(reply, language) == shown


@pytest.fixture(scope="module")
def app() -> Flask:
    app = Flask(__name__)
    catalogs.setup(app, [DOMAIN])
    return app


def _said(app: Flask, language: str | None, key: str, **values: object) -> str:
    with app.test_request_context():
        g.lang = language
        return i18n.say(key, **values)


@pytest.mark.parametrize(("language", "shown"), [
    ("zh-CN", "请在 5 秒后重试"), ("zh-Hant", "請在 5 秒後再試"),
    ("en", "Please wait 5 s before asking again"),
    (None, "请在 5 秒后重试"),  # no choice made: Simplified Chinese
])
def test_a_message_is_said_in_the_page_language(app: Flask, language: str | None,
                                                shown: str) -> None:
    assert _said(app, language, "cooldown", seconds=5) == shown


def test_a_key_naming_no_message_is_shown_as_it_is(app: Flask) -> None:
    assert _said(app, "en", "no such key") == "no such key"


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_key_is_said_in_traditional_chinese(app: Flask, key: str) -> None:
    assert re.search(r"[\u3400-\u9fff]", _said(app, "zh-Hant", key, seconds=1, minutes=1))
