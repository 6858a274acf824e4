"""The languages of the pages citynet shows: Chinese (Simplified, the default) and English
on every page; the pages whose text is in gettext catalogs (the captive portal, the staff
pages) also speak Traditional Chinese (Hong Kong usage: Luohu is the border crossing). A
page asks for the languages it has text in (``offered``): a Traditional Chinese reader of
a page without it gets Simplified, never a missing text."""

from __future__ import annotations

from flask import request, session

SIMPLIFIED, TRADITIONAL, ENGLISH = "zh-CN", "zh-Hant", "en"
LANGUAGES = (SIMPLIFIED, ENGLISH)  # every page
# the pages whose text is in the catalogs (citynet.catalogs): every language there is one of
CATALOGUED = (SIMPLIFIED, TRADITIONAL, ENGLISH)
PORTAL_LANGUAGES = STAFF_LANGUAGES = CATALOGUED
NAMES = {SIMPLIFIED: "简体中文", TRADITIONAL: "繁體中文", ENGLISH: "English"}  # as picked
# each language's gettext catalog (citynet.catalogs): Traditional is Hong Kong usage
LOCALES = {SIMPLIFIED: "zh_Hans_CN", TRADITIONAL: "zh_Hant_HK", ENGLISH: "en"}
# the regions whose Chinese is written in Traditional characters
_TRADITIONAL_REGIONS = frozenset({"hk", "mo", "tw"})


def match(tag: str | None, offered: tuple[str, ...] = LANGUAGES) -> str | None:
    """The offered language a tag names (a browser's ``zh-HK``, a NAS's ``zh_TW``,
    ``zh-Hant``, ``en_US``), or None."""
    parts = (tag or "").strip().lower().replace("_", "-").split("-")
    if parts[0] == "en":
        return ENGLISH if ENGLISH in offered else None
    if parts[0] != "zh":
        return None
    traditional = "hant" in parts or (
        "hans" not in parts and not _TRADITIONAL_REGIONS.isdisjoint(parts))
    return TRADITIONAL if traditional and TRADITIONAL in offered else SIMPLIFIED


def pick(*candidates: str | None, offered: tuple[str, ...] = LANGUAGES) -> str:
    """The first candidate (a browser's Accept-Language, a NAS's lang=) that names one of
    the offered languages; Simplified Chinese when none does."""
    for candidate in candidates:
        found = match(candidate, offered)
        if found is not None:
            return found
    return SIMPLIFIED


def switch(key: str, offered: tuple[str, ...] = LANGUAGES) -> bool:
    """Keep the page's ``?lang=``, when it is one of the offered languages, as the
    session's choice under ``key``; whether it did."""
    chosen = request.args.get("lang")
    if chosen not in offered:
        return False
    session[key] = chosen
    return True


def of_request(key: str, offered: tuple[str, ...] = LANGUAGES) -> str:
    """The page's language: the one chosen in this session (under ``key``), else the
    offered one the browser prefers most (Accept-Language, by quality), else Simplified
    Chinese."""
    return str(session.get(key) or browser_preference(offered))


def browser_preference(offered: tuple[str, ...] = LANGUAGES) -> str:
    """The offered language the browser prefers most (Accept-Language, by quality: zh-HK,
    zh-TW and zh-Hant read Traditional Chinese where it is offered)."""
    return pick(*(tag for tag, _quality in request.accept_languages), offered=offered)
