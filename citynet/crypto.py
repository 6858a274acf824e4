"""Secrets at rest: NAS shared secrets, device credentials and TOTP seeds.

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a MultiFernet key ring:
the first key seals, every key opens, so a rotation can re-seal everything while both
keys are in place. A canary in the meta table lets start-up tell "no key" and "wrong key"
apart from "nothing sealed yet" — citynet never falls back to plaintext.

A column that holds sealed values is declared with ``info=SEALED``; rotation finds every
such column through the metadata, so a new domain table needs no change here.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from citynet.catalogs import gettext as _
from citynet.config import Config
from citynet.db import Store, get_meta, set_meta
from citynet.errors import SecretsError
from citynet.schema import all_tables

log = logging.getLogger(__name__)

SEALED = {"sealed": True}
CANARY_KEY = "secrets.canary"
CANARY_TEXT = "citynet secrets canary"
# Exports carry sealed values with this prefix so a round trip never writes plaintext.
EXPORT_PREFIX = "sealed:"


class SecretBox:
    """Seal and open short secrets under a key ring (newest key first)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretsError(_("no secrets key given"))
        try:
            self._fernets = [Fernet(key) for key in keys]
        except ValueError:
            raise SecretsError(_(
                "a secrets key is not a valid Fernet key (32 url-safe base64 bytes)")
            ) from None
        self._ring = MultiFernet(self._fernets)

    @staticmethod
    def new_key() -> bytes:
        return Fernet.generate_key()

    def seal(self, plaintext: str) -> str:
        return self._ring.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._ring.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretsError(_(
                "a sealed value does not open with the configured key(s): wrong key, "
                "or the value was sealed by another installation")
            ) from None

    def reseal(self, token: str) -> str:
        """Re-encrypt under the newest key (rotation)."""
        try:
            return self._ring.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretsError(_(
                "a sealed value does not open with the configured key(s)")) from None


def read_key_file(path: Path) -> list[bytes]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.encode() for line in lines if line and not line.startswith("#")]


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Write keys atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# citynet secrets key ring: newest first. Back this file up apart from "
                 "the database.\n")
        fh.writelines(key.decode() + "\n" for key in keys)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def configured_keys(config: Config) -> list[bytes] | None:
    """Keys from config (``secrets.key``) or the key file; None when there are none."""
    inline = config.secrets.key.get_secret_value()
    if inline:
        return [part.strip().encode() for part in inline.split(",") if part.strip()]
    if config.key_path.exists():
        try:
            return read_key_file(config.key_path) or None
        except OSError as exc:
            raise SecretsError(_(
                "cannot read the key file %(path)s: %(reason)s", path=config.key_path,
                reason=exc.strerror)) from None
    return None


def open_box(config: Config, store: Store, *, create: bool = False) -> SecretBox | None:
    """The secret box for this store, checked against its canary.

    Without keys: an error if sealed data exists; else None, or — with ``create`` — a new
    key file under the data directory.
    """
    keys = configured_keys(config)
    with store.session() as session:
        canary = get_meta(session, CANARY_KEY)
        if keys is None:
            if canary is not None:
                raise SecretsError(_(
                    "the store holds encrypted secrets but no key was found: restore the "
                    "key file to %(path)s or set CITYNET_SECRETS__KEY",
                    path=config.key_path))
            if not create:
                return None
            keys = [SecretBox.new_key()]
            write_key_file(config.key_path, keys)
            log.warning("created a new secrets key file at %s: back it up apart from the "
                        "database", config.key_path)
        box = SecretBox(keys)
        if canary is None:
            set_meta(session, CANARY_KEY, box.seal(CANARY_TEXT))
        elif _opens(box, canary) != CANARY_TEXT:
            source = ("CITYNET_SECRETS__KEY" if config.secrets.key.get_secret_value()
                      else str(config.key_path))
            raise SecretsError(_(
                "the secrets key (from %(source)s) does not match this store's encrypted "
                "data", source=source))
    return box


def _opens(box: SecretBox, token: str) -> str | None:
    try:
        return box.open(token)
    except SecretsError:
        return None


def sealed_columns() -> list[tuple[str, str]]:
    """(table, column) of every column declared with ``info=SEALED``."""
    return [
        (table.name, column.name)
        for table in all_tables().sorted_tables
        for column in table.columns
        if column.info.get("sealed")
    ]


SESSION_KEY_META = "web.session_key"  # signs the web app's session cookies
SEALED_META = (SESSION_KEY_META,)  # meta entries held sealed


def reseal_all(session: Session, box: SecretBox) -> int:
    """Re-encrypt every sealed value (the canary and sealed meta entries too) under the
    box's newest key."""
    count = 0
    tables = all_tables().tables
    for table_name, column_name in sealed_columns():
        table = tables[table_name]
        column = table.c[column_name]
        pk = next(iter(table.primary_key.columns))
        rows = session.execute(select(pk, column).where(column.is_not(None))).all()
        for key, token in rows:
            session.execute(update(table).where(pk == key).values({column: box.reseal(token)}))
            count += 1
    for meta_key in SEALED_META:
        sealed = get_meta(session, meta_key)
        if sealed is not None:
            set_meta(session, meta_key, box.reseal(sealed))
            count += 1
    canary = get_meta(session, CANARY_KEY)
    set_meta(session, CANARY_KEY, box.reseal(canary) if canary else box.seal(CANARY_TEXT))
    return count


def rotate(config: Config, store: Store) -> tuple[int, str]:
    """Re-seal everything under a new key; returns (values re-sealed, what happened to keys).

    With a key file: a new key is generated and written in front of the old ones, every
    value is re-sealed, then the old keys are retired to a dated file (kept to open old
    backups). A crash at any step leaves a key file that opens the whole store.
    With ``secrets.key`` from config: re-seals under the first key listed; the operator
    puts the new key first before running this and drops the old one after.
    """
    box = open_box(config, store)
    if box is None:
        raise SecretsError(_("nothing to rotate: no secrets key and no encrypted data yet"))
    if config.secrets.key.get_secret_value():
        with store.session() as session:
            count = reseal_all(session, box)
        return count, _("re-sealed under the first key in CITYNET_SECRETS__KEY; remove the "
                         "others")
    old_keys = read_key_file(config.key_path)
    new_key = SecretBox.new_key()
    write_key_file(config.key_path, [new_key, *old_keys])
    with store.session() as session:
        count = reseal_all(session, SecretBox([new_key, *old_keys]))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    retired = config.key_path.with_name(f"{config.key_path.name}.retired-{stamp}")
    write_key_file(retired, old_keys)
    write_key_file(config.key_path, [new_key])
    return count, _("new key in %(path)s; old keys kept in %(retired)s for old backups",
                     path=config.key_path, retired=retired)
