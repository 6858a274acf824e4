"""The portal's words in its three languages, and a NAS's reply in the page's one."""

from __future__ import annotations

import re
import string

import pytest

from portal import i18n
from radius import guesses, policy


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.TEXT))
def test_every_text_is_in_three_languages_with_the_same_blanks(key: str) -> None:
    simplified, traditional, english = i18n.TEXT[key]
    assert simplified and traditional and english
    assert _fields(simplified) == _fields(traditional) == _fields(english)
    assert not re.search(r"[\u3400-\u9fff]", english)


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


def test_minutes_are_worded_in_each_language() -> None:
    assert [i18n.translate("minutes", lang, n=5) for lang in ("zh-CN", "zh-Hant", "en")] == [
        "5 分钟", "5 分鐘", "5 min"]
