"""Errors a person can act on. The CLI prints their message (one line) and exits non-zero."""


class CitynetError(Exception):
    """Base for every error whose message is meant for the person at the keyboard."""

    exit_code = 1


class ConfigError(CitynetError):
    """The configuration is unreadable or invalid; start-up stops."""

    exit_code = 2


class StoreError(CitynetError):
    """The database is missing, behind, or unreachable."""


class SecretsError(CitynetError):
    """The secrets key is missing or does not match the encrypted data."""


class BackupError(CitynetError):
    """A backup could not be written, or a backup is corrupt and was not restored."""
