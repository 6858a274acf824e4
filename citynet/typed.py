"""What a person typed, read the way they meant it: Chinese input methods give full-width
digits, letters and spaces (``１３８　０``), which NFKC turns into their ASCII forms. The
one normaliser for codes, phone numbers, voucher codes and numbers typed into forms."""

from __future__ import annotations

import unicodedata


def normalised(text: str, drop: str = "") -> str:
    """``text`` in NFKC, stripped, without any of the characters in ``drop`` (the
    separators a person may type inside a code: spaces, dashes)."""
    text = unicodedata.normalize("NFKC", text).strip()
    return text.translate({ord(ch): None for ch in drop}) if drop else text
