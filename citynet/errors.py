"""Errors a person can act on. The CLI prints their message (one line) and exits non-zero."""

from __future__ import annotations


class CitynetError(Exception):
    """Base for every error whose message is meant for the person at the keyboard.

    ``CitynetError("text")`` is text already in the reader's language (made with
    ``gettext``). ``CitynetError(N_("no device matches %(selectors)s"), selectors=…)``
    keeps a msgid and its values, for an error that may also leave through an API or a
    record: ``str()`` is the English, :meth:`said` the command's or the page's language
    (docs/i18n.md)."""

    exit_code = 1

    def __init__(self, message: str = "", **values: object) -> None:
        super().__init__(message % values if values else message)
        self.msgid, self.values = message, values

    def said(self) -> str:
        """The message in the reader's language (the msgid's translation, or the text)."""
        from citynet.catalogs import gettext  # the catalogs' adapter imports flask

        return gettext(self.msgid, **self.values)

    def message(self) -> str:
        """The message as a :class:`citynet.catalogs.Message`: English as a string, said
        in the reader's language where it is shown (a per-device result keeps it)."""
        from citynet.catalogs import Message

        return Message(self.msgid, **self.values)


class ConfigError(CitynetError):
    """The configuration is unreadable or invalid; start-up stops."""

    exit_code = 2


class StoreError(CitynetError):
    """The database is missing, behind, or unreachable."""


class SecretsError(CitynetError):
    """The secrets key is missing or does not match the encrypted data."""


class BackupError(CitynetError):
    """A backup could not be written, or a backup is corrupt and was not restored."""
