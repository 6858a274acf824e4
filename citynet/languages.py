"""The languages of the pages citynet shows: Chinese (Simplified, the default) and English
on every page; the captive portal also speaks Traditional Chinese (Hong Kong usage: Luohu
is the border crossing). A page asks for the languages it has text in (``offered``): a
Traditional Chinese reader of a page without it gets Simplified, never a missing text."""

from __future__ import annotations

SIMPLIFIED, TRADITIONAL, ENGLISH = "zh-CN", "zh-Hant", "en"
LANGUAGES = (SIMPLIFIED, ENGLISH)  # every page
PORTAL_LANGUAGES = (SIMPLIFIED, TRADITIONAL, ENGLISH)
NAMES = {SIMPLIFIED: "简体中文", TRADITIONAL: "繁體中文", ENGLISH: "English"}  # as picked
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
