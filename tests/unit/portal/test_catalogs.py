"""The portal's gettext catalogs: every msgid its code and templates use is in each
locale's catalog (translated in both Chinese ones, same blanks), the compiled .mo files
are those of the .po sources, and no portal template shows text outside the catalogs."""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from citynet import languages

ROOT = Path(__file__).resolve().parents[3]
PORTAL = ROOT / "portal"
CATALOGS = PORTAL / "translations"
TEMPLATES = PORTAL / "templates"  # the portal's pages and its staff pages (portal_admin)
TRANSLATED = ("zh_Hans_CN", "zh_Hant_HK")  # en: the msgids are the English text
# text the same in every language, shown as an example of what to type
EXAMPLES = frozenset({"ABCD-EFGH-JK", "138 0013 8000", "2026-12-library", "aa:bb:cc:dd:ee:ff"})
_BLANK = re.compile(r"%\((\w+)\)s")


def used_msgids() -> set[str]:
    """The msgids ``pybabel extract`` finds in the portal (the Makefile's babel.cfg)."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context
            in extract_from_dir(PORTAL, method_map, options_map)}


def catalog(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=locale)


def test_every_language_has_a_catalog() -> None:
    assert sorted(languages.LOCALES.values()) == sorted(
        path.name for path in CATALOGS.iterdir() if path.is_dir())


def test_the_portal_uses_its_messages() -> None:
    used = used_msgids()
    assert "Luohu Free WiFi" in used  # a template's _()
    assert "Wrong code" in used  # portal.i18n's N_()
    assert "Revoke one code" in used  # a staff page's template (portal_admin)
    assert "the name is empty" in used  # a merchant's form problem (portal.merchants)
    assert "no merchant named %(name)s" in used  # the CLI (portal.cli)
    assert len(used) > 60


@pytest.mark.parametrize("locale", sorted(languages.LOCALES.values()))
def test_every_msgid_used_is_in_the_catalog_and_none_is_stale(locale: str) -> None:
    held = {message.id for message in catalog(locale) if message.id}
    used = used_msgids()
    assert sorted(used - held) == [], "missing: run `make catalogs` and translate"
    assert sorted(held - used) == [], "no longer used: run `make catalogs`"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_blanks(locale: str) -> None:
    for message in catalog(locale):
        if not message.id:
            continue
        assert message.string, f"{locale}: {message.id!r} is untranslated"
        assert not message.fuzzy, f"{locale}: {message.id!r} is fuzzy"
        assert sorted(_BLANK.findall(str(message.string))) == sorted(
            _BLANK.findall(str(message.id))), f"{locale}: {message.id!r}"
        assert not re.search(r"[\u3400-\u9fff]", str(message.id))  # msgids are English


@pytest.mark.parametrize("locale", sorted(languages.LOCALES.values()))
def test_the_compiled_catalog_is_the_source_one(locale: str) -> None:
    """The .mo files are committed (the app reads them, no build step): they must be
    the .po files compiled — `make catalogs-compile` after every .po change."""
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as compiled:
        held = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    source = {message.id: message.string for message in catalog(locale)
              if message.id and message.string and not message.fuzzy}
    assert {key: value for key, value in held.items() if key} == source


# --- literal text in the templates ------------------------------------------------------

_LETTER = re.compile(r"[^\W\d_]")  # any script's letter: Latin, Han, ...
_SHOWN_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label"})
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TRANS_BLOCK = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)


class _ShownText(HTMLParser):
    """The user-facing literal text of a template with its Jinja removed: text nodes with
    a letter (outside <script> and <style>), and alt/title/placeholder/aria-label
    attributes with a letter."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._code += 1
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES and value and _LETTER.search(value) \
                    and value not in EXAMPLES:
                self.found.append(f'{tag} {name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if not self._code and _LETTER.search(data):
            self.found.append(data.strip())


def shown_literals(template: str) -> list[str]:
    parser = _ShownText()
    parser.feed(_JINJA.sub(" ", _TRANS_BLOCK.sub(" ", template)))
    parser.close()
    return parser.found


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*/*.html")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_template_shows_no_text_outside_the_catalogs(path: Path) -> None:
    assert shown_literals(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("template", "found"), [
    ("<h2>欢迎</h2>", ["欢迎"]),
    ("<p>{{ n }} MB</p>", ["MB"]),
    ('<img src="x" alt="Logo">', ['img alt="Logo"']),
    ('<input aria-label="验证码">', ['input aria-label="验证码"']),
    ("<h2>{{ _('Welcome') }} →</h2>", []),
    ("<p>{% trans %}Hello {{ name }}{% endtrans %}</p>", []),
    ("<style>body{font:16px sans-serif}</style><p>✓ 12 · 3</p>", []),
    ('<input placeholder="ABCD-EFGH-JK" name="code">', []),
])
def test_what_counts_as_shown_text(template: str, found: list[str]) -> None:
    assert shown_literals(template) == found
