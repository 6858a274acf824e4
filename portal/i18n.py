"""The portal's messages named by key (refusals, outcomes), translated through the
catalogs in portal/translations/ (docs/i18n.md) — and a NAS's Reply-Message in the page's
language."""

from __future__ import annotations

import re

from citynet.catalogs import N_, gettext
from citynet.languages import ENGLISH, SIMPLIFIED, TRADITIONAL
from radius import guesses, policy, vouchers

# what the views and the domain's outcomes name by key (a refusal, an outcome page), as
# its msgid in the catalogs (portal/translations/); the page's words are in the templates
MESSAGES: dict[str, str] = {
    "logged_out": N_("You are logged out."),
    "enrolled": N_("Done: next time you can log in with the app."),
    "unsigned": N_("This hotspot could not be verified: reconnect to the WiFi"),
    "need_consent": N_("Please accept the terms and privacy policy"),
    "bad_phone": N_("Enter a mainland China mobile number (11 digits)"),
    "bad_voucher": N_("That voucher code is not valid: check it"),
    "device_not_remembered": N_("This device is not remembered: choose another way"),
    # a Portal-protocol AC did not log the device in (portal.logins.AC_REFUSALS)
    "ac_rejected": N_("The login was refused: check and try again"),
    "ac_busy": N_("A login of this device is under way: try again in a moment"),
    "ac_no_answer": N_("The hotspot did not answer: try again shortly"),
    "ac_failed": N_("The hotspot could not complete the login: try again shortly"),
    # portal.sms's and portal.totp's verdicts
    "wrong code": N_("Wrong code"),
    "no code": N_("The code has expired: ask for a new one"),
    "too many tries": N_("Too many wrong tries: ask for a new code"),
    "cooldown": N_("Please wait %(seconds)s s before asking again"),
    "over budget": N_("Too many codes today: use a voucher or try again tomorrow"),
    "not enrolled": N_("This number has no authenticator app yet: log in by SMS first"),
    "locked": N_("Too many wrong codes: app login is locked for 15 minutes, use SMS"),
    # wrong voucher codes held (radius.guesses): by device, client address, hotspot
    "vouchers_held_mac": N_("Too many wrong voucher codes from this device: try again in "
                            "%(minutes)s min"),
    "vouchers_held_ip": N_("Too many wrong voucher codes from this address: try again in "
                           "%(minutes)s min"),
    "vouchers_held_nas": N_("Too many wrong voucher codes at this hotspot: try again in "
                            "%(minutes)s min"),
}


def say(key: str, **values: object) -> str:
    """The message the views name by ``key`` in the page's language (the key itself when
    it names none, as before: never a missing text)."""
    msgid = MESSAGES.get(key)
    return key if msgid is None else gettext(msgid, **values)


# RADIUS's reasons (radius.policy words them in Simplified Chinese and English) in
# Traditional Chinese, for a Reply-Message the NAS hands back
REASONS_TRADITIONAL = {
    "unknown voucher": "上網券無效",
    guesses.HELD: "上網券輸入錯誤次數過多，請稍後再試",
    "voucher revoked": "上網券已作廢",
    "voucher used up": "上網券已用完",
    vouchers.IN_USE: "上網券已在允許的裝置上使用",
    "wrong password": "密碼錯誤",
    "no valid login token": "登入憑證無效或已過期，請重新登入",
    "device not remembered": "裝置未記住或已過期，請在認證頁面登入",
    "MAC login from another device": "裝置地址不符",
    "daily time used up": "今日上網時間已用完",
    "daily data used up": "今日上網數據已用完",
    "too many devices online": "同時在線的裝置已達上限",
}
_BY_CHINESE = {chinese: reason for reason, chinese in policy.MESSAGES.items()}
_HAN = re.compile(r"[\u3400-\u9fff]")


def nas_reply(reply: str, language: str) -> str:
    """A NAS's Reply-Message in the page's language alone: a reason RADIUS gives is
    translated; another two-language message (``English / 中文``, as a profile in "both"
    words them) keeps the half in the page's script; anything else is shown as sent."""
    halves = [half.strip() for half in reply.split(" / ") if half.strip()]
    for half in halves:
        reason = half if half in policy.MESSAGES else _BY_CHINESE.get(half)
        if reason is not None:
            return _reason(reason, language)
    if len(halves) == 2:
        chinese = [half for half in halves if _HAN.search(half)]
        english = [half for half in halves if not _HAN.search(half)]
        if len(chinese) == 1 and len(english) == 1:
            return english[0] if language == ENGLISH else chinese[0]
    return reply


def _reason(reason: str, language: str) -> str:
    if language == TRADITIONAL:
        return REASONS_TRADITIONAL.get(reason, policy.MESSAGES[reason])
    return policy.MESSAGES[reason] if language == SIMPLIFIED else reason
