"""The web's gettext catalogs (Flask-Babel, the one adapter to it): each domain's
``translations/`` directory, the page's locale from :mod:`citynet.languages`, and the
markers the views use. How translators work: docs/i18n.md."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, g
from flask_babel import Babel, get_locale, get_translations, refresh

from citynet import languages

if TYPE_CHECKING:
    from citynet.domains import Domain

# the kernel's own catalogs (the staff frame, login, audit log, staff accounts, the menu)
KERNEL = Path(__file__).with_name("translations")


def setup(app: Flask, domains: Sequence[Domain]) -> None:
    """Serve the kernel's catalogs and every registered domain's (merged: the kernel first,
    then the domains in the registry's order) in the locale of the page's language;
    ``_()`` and ``{% trans %}`` in every template."""
    directories = [str(KERNEL)] + [str(domain.translations) for domain in domains
                                   if domain.translations is not None]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    Babel(app, locale_selector=page_locale,
          default_locale=languages.LOCALES[languages.SIMPLIFIED])
    # Flask-Babel keeps the first locale asked for in g; a page may change its language
    # after that (a hand-off's lang=), so every lookup follows the language of now
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda msgid: _current().ugettext(msgid),
        lambda singular, plural, n: _current().ungettext(singular, plural, n),
        newstyle=True)


def page_locale() -> str:
    """The catalog locale of the language the page's ``before_request`` chose (``g.lang``
    on the public pages, ``g.staff_lang`` on the staff pages)."""
    chosen = getattr(g, "lang", None) or getattr(g, "staff_lang", None)
    return languages.LOCALES.get(str(chosen), languages.LOCALES[languages.SIMPLIFIED])


def gettext(msgid: str, **values: object) -> str:
    """``msgid`` in the page's language, ``%(name)s`` filled from ``values``."""
    text = str(_current().ugettext(msgid))
    return text % values if values else text


def _current() -> Any:
    """The catalog of the page's language as it is now (Flask-Babel's, refreshed when
    the page changed its language since the last lookup)."""
    if str(get_locale()) != page_locale():
        refresh()
    return get_translations()


def N_(msgid: str) -> str:  # gettext's name for "extract, do not translate"
    """Marks ``msgid`` for ``pybabel extract``; it is translated where it is shown."""
    return msgid
