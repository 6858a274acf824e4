"""What the catalog tests check in a package with gettext catalogs (docs/i18n.md): the
msgids its code and templates use, its catalogs, and the literal text of its templates.
The packages are the Makefile's ``CATALOGS`` (one line there adds one)."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("zh_Hans_CN", "zh_Hant_HK")  # en: the msgids are the English text
# template folders still in the older shapes (docs/i18n.md, "What is still in the old
# shapes"): their text moves to the catalogs, then they leave this set
NOT_YET_MOVED: frozenset[str] = frozenset()
# text the same in every language, shown as an example of what to type
EXAMPLES = frozenset({"ABCD-EFGH-JK", "138 0013 8000", "aa:bb:cc:dd:ee:ff",
                      "staff.login, devices.", "2026-12-library"})
# names the same in every language: the product, protocol and address abbreviations
SAME_EVERYWHERE = ("citynet", "AP/SSID", "MAC", "IP", "NAS", "UTC", "2FA", "SSID", "AP",
                   "DHCP 114", "JSON")
# a msgid's named blanks, any conversion (%(name)s, %(key)r, %(value)g): Jinja's gettext
# always applies %, so a msgid has named blanks only
BLANK = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


def packages() -> tuple[str, ...]:
    """The packages the Makefile's ``CATALOGS`` names (``make catalogs`` works on them)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^CATALOGS\s*\?=\s*(.+)$", makefile, re.M)
    assert found is not None, "the Makefile has no CATALOGS line"
    return tuple(found.group(1).split())


def used_msgids(package: str, templates_only: bool = False) -> set[str]:
    """The msgids ``pybabel extract`` finds in ``package`` (the Makefile's babel.cfg);
    ``templates_only``: those its templates use (Jinja's ``_()`` always applies ``%``)."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message if isinstance(message, str) else message[0]
            for file, _line, message, _comments, _context
            in extract_from_dir(ROOT / package, method_map, options_map)
            if not templates_only or file.endswith(".html")}


def translations(package: str) -> Path:
    return ROOT / package / "translations"


def catalog(package: str, locale: str) -> Catalog:
    path = translations(package) / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def templates(package: str) -> list[Path]:
    """The package's HTML templates whose text should be in its catalogs."""
    return sorted(path for path in (ROOT / package / "templates").glob("**/*.html")
                  if path.parent.relative_to(ROOT).as_posix() not in NOT_YET_MOVED)


# --- literal text in the templates ------------------------------------------------------

_LETTER = re.compile(r"[^\W\d_]")  # any script's letter: Latin, Han, ...
_SHOWN_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label"})
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TRANS_BLOCK = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)
_SAME = re.compile("|".join(rf"(?<![\w/]){re.escape(name)}(?![\w/])" for name in SAME_EVERYWHERE))
# markup a macro emits into its caller's tag (`` aria-invalid="true"``), not text
_ATTRIBUTES = re.compile(r'\s*([\w-]+="[^"]*"\s*)+')


class _ShownText(HTMLParser):
    """The user-facing literal text of a template with its Jinja removed: text nodes with
    a letter (outside <script>, <style> and <code>, what is typed the same in every
    language), and alt/title/placeholder/aria-label attributes with a letter; names the
    same in every language (``SAME_EVERYWHERE``) are not text to translate."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self._code += 1
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES and value and _LETTER.search(value) \
                    and value not in EXAMPLES:
                self.found.append(f'{tag} {name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if self._code or _ATTRIBUTES.fullmatch(data):
            return
        if _LETTER.search(_SAME.sub(" ", data)):
            self.found.append(data.strip())


def shown_literals(template: str) -> list[str]:
    """What ``template`` shows people outside the catalogs (empty when all is ``_()``)."""
    parser = _ShownText()
    parser.feed(_JINJA.sub(" ", _TRANS_BLOCK.sub(" ", template)))
    parser.close()
    return parser.found


# --- literal text the commands print ----------------------------------------------------

# what a command shows people: click's output, prompts and errors, and the errors it
# raises (click prints a CitynetError's text as the command's one line)
_SHOWING = frozenset({"echo", "secho", "confirm", "prompt", "ClickException", "UsageError",
                      "BadParameter", "FileError"})
# keywords that carry text to show (a listing's hints, click's message=)
_SHOWN_KEYWORDS = frozenset({"message", "text", "more", "empty"})


def command_modules(package: str) -> list[Path]:
    """The package's modules that import click: its commands and what they print."""
    found = []
    for path in sorted((ROOT / package).glob("**/*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any((isinstance(node, ast.Import) and any(a.name == "click" for a in node.names))
               or (isinstance(node, ast.ImportFrom) and node.module == "click")
               for node in ast.walk(tree)):
            found.append(path)
    return found


def _literal(node: ast.expr) -> str:
    """The literal text of an argument: a string, an f-string's fixed parts, joined by
    ``+``, ``%`` or ``.format``; "" for text made elsewhere (``_(…)``, a variable)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(part.value for part in node.values
                        if isinstance(part, ast.Constant) and isinstance(part.value, str))
    if isinstance(node, ast.BinOp):
        return f"{_literal(node.left)} {_literal(node.right)}"
    if isinstance(node, ast.IfExp):
        return f"{_literal(node.body)} {_literal(node.orelse)}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        return _literal(node.func.value)
    return ""


def _name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else \
        call.func.id if isinstance(call.func, ast.Name) else ""


def printed_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each literal with a letter a command shows people outside the
    catalogs: the text of click's echo, prompts and errors, of every exception raised,
    and of a listing's ``more=``/``empty=`` hints (names the same in every language,
    ``SAME_EVERYWHERE``, are not text)."""
    tree = ast.parse(source)
    raised = {id(node.exc) for node in ast.walk(tree)
              if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        shown = [*(node.args[:1] if _name(node) in _SHOWING or id(node) in raised else []),
                 *(k.value for k in node.keywords if k.arg in _SHOWN_KEYWORDS)]
        for argument in shown:
            text = _literal(argument)
            if _LETTER.search(_SAME.sub(" ", text)):
                found.append((node.lineno, text.strip()))
    return found
