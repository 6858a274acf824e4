"""The gettext catalogs (the one adapter to Babel and Flask-Babel): each domain's
``translations/`` directory (and the kernel's own), in the page's locale on the web
(:mod:`citynet.languages`) and in the command's (``--lang``, else the environment's
LC_ALL/LC_MESSAGES/LANG) on the CLI, and the markers the code uses. How translators
work: docs/i18n.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_request_context
from flask_babel import Babel, get_locale, get_translations, refresh
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from citynet import languages

if TYPE_CHECKING:
    from citynet.domains import Domain

# the kernel's own catalogs (the staff frame, login, audit log, staff accounts, the menu,
# the CLI's messages)
KERNEL = Path(__file__).with_name("translations")


def setup(app: Flask, domains: Sequence[Domain]) -> None:
    """Serve the kernel's catalogs and every registered domain's (merged: the kernel first,
    then the domains in the registry's order) in the locale of the page's language;
    ``_()`` and ``{% trans %}`` in every template."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        str(directory) for directory in directories(domains))
    Babel(app, locale_selector=page_locale,
          default_locale=languages.LOCALES[languages.SIMPLIFIED])
    # Flask-Babel keeps the first locale asked for in g; a page may change its language
    # after that (a hand-off's lang=), so every lookup follows the language of now
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda msgid: _current().ugettext(msgid),
        lambda singular, plural, n: _current().ungettext(singular, plural, n),
        newstyle=True)
    # what render_template renders sees the page's `_` (the globals above stay for what
    # is rendered without the context: a macro imported without it)
    app.context_processor(_page_words)
    # text kept in English (a Message: a per-device reason) in the page's language
    app.jinja_env.filters["said"] = said


def page_locale() -> str:
    """The catalog locale of the language the page's ``before_request`` chose (``g.lang``
    on the public pages, ``g.staff_lang`` on the staff pages)."""
    chosen = getattr(g, "lang", None) or getattr(g, "staff_lang", None)
    return languages.LOCALES.get(str(chosen), languages.LOCALES[languages.SIMPLIFIED])


def directories(domains: Sequence[Domain]) -> list[Path]:
    """The catalogs to merge, in order: the kernel's (when it has any), then each
    domain's that names its own."""
    return [*([KERNEL] if KERNEL.is_dir() else []),
            *(domain.translations for domain in domains if domain.translations is not None)]


def gettext(msgid: str, **values: object) -> str:
    """``msgid`` in the page's language (in a request) or the command's (outside one:
    :func:`speaking`), ``%(name)s`` filled from ``values`` (a :class:`Message` among
    them said in the same language)."""
    found = _current() if has_request_context() else (_command.get() or _MSGIDS)
    text = str(found.ugettext(msgid))
    return text % _said_values(values) if values else text


class Message(str):
    """Text made where there may be no reader (a per-device result, a reason that also
    goes to ``--json``, an API and the audit record): the string itself is the English,
    the msgid's blanks filled, so it is stored, compared and serialised as before;
    :meth:`said` is the same msgid in the reader's language. A value may be a Message
    too (a phrase inside a sentence). Text cut or joined from it is plain English."""

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, **values: object) -> Message:
        message = super().__new__(cls, msgid % values if values else msgid)
        message.msgid, message.values = msgid, values
        return message

    def said(self) -> str:
        return gettext(self.msgid, **self.values)

    def kept(self) -> dict[str, Any]:
        """The msgid and its values as JSON keeps them (a Message among the values kept
        the same way), for a record to say it again later (:meth:`restored`)."""
        return {"msgid": self.msgid,
                "values": {name: value.kept() if isinstance(value, Message) else value
                           for name, value in self.values.items()}}

    @classmethod
    def restored(cls, kept: Mapping[str, Any]) -> Message:
        """The Message :meth:`kept` made this from."""
        return cls(kept["msgid"], **{
            name: cls.restored(value) if _is_kept(value) else value
            for name, value in kept["values"].items()})


def _is_kept(value: object) -> bool:
    """A value :meth:`Message.kept` wrote for a Message (a plain dict value stays one)."""
    return isinstance(value, dict) and value.keys() == {"msgid", "values"}


def said(text: str) -> str:
    """``text`` in the reader's language if it is a :class:`Message`, else as it is."""
    return text.said() if isinstance(text, Message) else text


def _said_values(values: Mapping[str, object]) -> Mapping[str, object]:
    return {name: value.said() if isinstance(value, Message) else value
            for name, value in values.items()}


def _current() -> Any:
    """The catalog of the page's language as it is now (Flask-Babel's, refreshed when
    the page changed its language since the last lookup). Flask-Babel keeps a locale's
    catalog for the life of the app (its domain's cache), so it is held here by locale
    for the app, not asked for again: a page asks for dozens of words, and asking
    Flask-Babel (contexts, locale objects parsed and turned into strings) on each
    request's first word was a tenth of the template's gettext time."""
    wanted = page_locale()
    held: dict[str, Any] = current_app.extensions.setdefault(_HELD, {})
    found = held.get(wanted)
    if found is None:
        if str(get_locale()) != wanted:
            refresh()
        found = held[wanted] = get_translations()
    return found


_HELD = "citynet.catalogs"  # app.extensions: {locale: its catalog}, filled on first use


def _page_words() -> dict[str, Any]:
    """``_`` for the template about to be rendered: :func:`template_gettext` of the
    page's language as it is now, held by locale for the app."""
    locale = page_locale()
    held: dict[str, Any] = current_app.extensions.setdefault(_WORDS, {})
    words = held.get(locale)
    if words is None:
        words = held[locale] = template_gettext(_current())
    return {"_": words}


_WORDS = "citynet.template_words"  # app.extensions: {locale: its template `_`}
_SAID_MOST = 4096  # msgids a locale's template `_` keeps said (templates name a few hundred)


def template_gettext(catalog: NullTranslations) -> Callable[..., str]:
    """A template's ``_`` in ``catalog``'s language: what Jinja's newstyle gettext
    answers (the translation, Markup where the template escapes, always %-formatted with
    the values, escaped), but without asking for the page's catalog on every word and
    through three calls of the template's context — a voucher login's two pages say
    22 words, and that was 510 of its 4,400 Python calls. A word said without values is
    kept said."""
    said: dict[tuple[str, bool], str] = {}

    def formatted(msgid: str, escaped: bool, values: dict[str, object]) -> str:
        # the catalogs' text is trusted as Jinja's newstyle gettext trusts it; the values
        # are escaped by Markup's %
        text = str(catalog.ugettext(msgid))
        return (Markup(text) if escaped else text) % values  # noqa: S704

    @pass_eval_context
    def gettext(context: EvalContext, msgid: str, **values: object) -> str:
        escaped = bool(context.autoescape)
        if values:
            return formatted(msgid, escaped, values)
        found = said.get((msgid, escaped))
        if found is None:
            found = formatted(msgid, escaped, {})
            if len(said) < _SAID_MOST:
                said[msgid, escaped] = found
        return found

    return gettext


def N_(msgid: str) -> str:  # gettext's name for "extract, do not translate"
    """Marks ``msgid`` for ``pybabel extract``; it is translated where it is shown."""
    return msgid


def gettext_in(lang: str, directories: Sequence[Path], msgid: str, **values: object) -> str:
    """``msgid`` in ``lang`` (a :mod:`citynet.languages` code) from these ``translations/``
    directories, with no page to ask: text in a fixed language (an API's English), or
    every language's word for a thing (an importer accepting a label in any of them)."""
    locale = languages.LOCALES.get(lang, languages.LOCALES[languages.SIMPLIFIED])
    text = str(_translations(locale, tuple(Path(d) for d in directories)).ugettext(msgid))
    return text % values if values else text


# --- outside a request: the command line ----------------------------------------------

# the CLI's language when neither --lang nor the environment names one: English, what
# the commands printed before they had catalogs (servers run with LANG=C.UTF-8)
CLI_DEFAULT = languages.ENGLISH
_ENVIRONMENT = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first one set wins
_command: ContextVar[NullTranslations | None] = ContextVar("command_catalog", default=None)
_spoken: ContextVar[str] = ContextVar("command_language", default=CLI_DEFAULT)
_MSGIDS = NullTranslations()  # no catalog: the msgids, English


def command_language(chosen: str | None, environ: Mapping[str, str]) -> str:
    """The command's language: ``chosen`` (``--lang``), else the locale the environment
    names (``zh_TW``/``zh_HK``/``zh_Hant`` read Traditional, any other ``zh*``
    Simplified, anything else English), else :data:`CLI_DEFAULT`."""
    every = languages.PORTAL_LANGUAGES
    if chosen:
        return languages.match(chosen, every) or CLI_DEFAULT
    for name in _ENVIRONMENT:
        value = environ.get(name, "")
        if value:  # the first one set decides, even C or POSIX (English)
            return languages.match(value.split(".")[0].split("@")[0], every) or CLI_DEFAULT
    return CLI_DEFAULT


@contextmanager
def speaking(language: str, domains: Sequence[Domain]) -> Iterator[None]:
    """Within it, :func:`gettext` outside a request answers in ``language`` from the
    kernel's and ``domains``' catalogs (the CLI's root sets it for the command)."""
    token = _command.set(_translations(languages.LOCALES[language],
                                       tuple(directories(domains))))
    spoken = _spoken.set(language)
    try:
        yield
    finally:
        _spoken.reset(spoken)
        _command.reset(token)


def spoken() -> str:
    """The command's language (:func:`speaking`; :data:`CLI_DEFAULT` outside one): for
    text a domain says through :func:`gettext_in`, in the language the command speaks."""
    return _spoken.get()


@lru_cache(maxsize=32)  # (locale, directories) pairs: CLI, importer, API
def _translations(locale: str, found_in: tuple[Path, ...]) -> NullTranslations:
    """Babel's catalogs of ``locale`` from every directory, merged in order (a later
    directory's translation of a shared msgid wins, as on the web)."""
    merged: NullTranslations = NullTranslations()
    for directory in found_in:
        one = Translations.load(str(directory), [locale], domain="messages")
        if not isinstance(one, Translations):
            continue  # no catalog of this locale there
        if isinstance(merged, Translations):
            merged.merge(one)
        else:
            merged = one
    return merged
