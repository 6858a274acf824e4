"""The two languages of every page citynet shows: Chinese (the default) and English."""

from __future__ import annotations

LANGUAGES = ("zh-CN", "en")


def pick(*candidates: str | None) -> str:
    """The first candidate (a browser's Accept-Language, a NAS's lang=) that names one of
    them; Chinese when none does."""
    for candidate in candidates:
        lowered = (candidate or "").lower()
        if lowered.startswith("en"):
            return "en"
        if lowered.startswith("zh"):
            return "zh-CN"
    return "zh-CN"
