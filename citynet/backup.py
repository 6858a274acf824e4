"""Backup and verified restore of the store (the plan's disaster recovery).

A backup is a directory: the snapshot (SQLite's online backup API, or ``pg_dump``'s
custom format) and ``manifest.json`` with each file's size and SHA-256, written last —
a directory without a manifest is a partial backup. Restore checks every checksum and
that the snapshot opens before it touches the live store, and swaps it in atomically
(SQLite: rename; PostgreSQL: one ``pg_restore`` transaction).

The secrets key is deliberately not in the backup: keep it apart (see docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from citynet import __version__
from citynet.catalogs import gettext as _
from citynet.db import Store
from citynet.errors import BackupError

MANIFEST = "manifest.json"
SQLITE_FILE = "citynet.sqlite3"
PG_FILE = "citynet.pgdump"
FORMAT = 1


@dataclass(frozen=True)
class BackupFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    citynet_version: str
    backend: str
    schema_revision: str | None
    files: list[BackupFile]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _libpq_url(url: URL) -> str:
    """pg_dump/pg_restore take a libpq URL (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(store: Store, dest: Path) -> Manifest:
    """Write a consistent snapshot of the live store into ``dest`` (new or empty)."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(_("%(dest)s is not empty; give a new directory for each backup",
                            dest=dest))
    dest.mkdir(parents=True, exist_ok=True)
    revision = store.current_revision()
    try:
        if store.is_sqlite:
            name = SQLITE_FILE
            _sqlite_snapshot(Path(str(store.url.database)), dest / name)
        else:
            name = PG_FILE
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dest / name}",
                  _libpq_url(store.url)], "pg_dump")
        _fsync(dest / name)
        manifest = Manifest(FORMAT, datetime.now(UTC).isoformat(timespec="seconds"),
                            __version__, store.url.get_backend_name(), revision,
                            [BackupFile(name, (dest / name).stat().st_size,
                                        _sha256(dest / name))])
        tmp = dest / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
        _fsync(tmp)
        tmp.replace(dest / MANIFEST)
        _fsync(dest)
    except OSError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise BackupError(_("backup to %(dest)s failed (%(reason)s); the partial backup "
                            "was removed", dest=dest, reason=exc.strerror)) from None
    except BackupError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return manifest


def _sqlite_snapshot(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        # One step (pages=-1): the copy is taken under a single read transaction, so it is
        # one consistent point in time even while other connections write.
        src.backup(dst, pages=-1)
    except sqlite3.OperationalError as exc:
        raise BackupError(_("SQLite backup failed: %(reason)s", reason=exc)) from None
    finally:
        dst.close()
        src.close()


def _run(args: list[str], tool: str) -> None:
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(_("%(tool)s is not installed (Debian: postgresql-client)",
                            tool=tool)) from None
    if result.returncode != 0:
        # libpq error text names host and database, never the password
        raise BackupError(_("%(tool)s failed: %(reason)s", tool=tool,
                            reason=result.stderr.strip().splitlines()[-1:]))


def verify(src: Path) -> Manifest:
    """Read the manifest and check every file against it; raise on anything amiss."""
    path = src / MANIFEST
    if not path.exists():
        raise BackupError(_("%(src)s has no %(manifest)s: not a citynet backup, or a partial "
                            "one", src=src, manifest=MANIFEST))
    try:
        raw = json.loads(path.read_text())
        manifest = Manifest(**{**raw, "files": [BackupFile(**f) for f in raw["files"]]})
    except (ValueError, TypeError, KeyError) as exc:
        raise BackupError(_("%(path)s is damaged: %(reason)s", path=path, reason=exc)) from None
    if manifest.format != FORMAT:
        raise BackupError(_("backup format %(found)s is not %(needed)s",
                            found=manifest.format, needed=FORMAT))
    for entry in manifest.files:
        file = src / entry.name
        if not file.exists():
            raise BackupError(_("%(file)s is missing", file=file))
        if file.stat().st_size != entry.size:
            raise BackupError(_("%(file)s is %(size)s bytes, the manifest says "
                                "%(expected)s: truncated or replaced", file=file,
                                size=file.stat().st_size, expected=entry.size))
        if _sha256(file) != entry.sha256:
            raise BackupError(_("%(file)s does not match its checksum: corrupt", file=file))
    return manifest


def restore(store: Store, src: Path) -> Manifest:
    """Replace the store's contents with a verified backup. Stop citynet first."""
    manifest = verify(src)
    if manifest.backend != store.url.get_backend_name():
        raise BackupError(_("the backup is of a %(backup)s store; this store is %(store)s",
                            backup=manifest.backend, store=store.url.get_backend_name()))
    [entry] = manifest.files
    if store.is_sqlite:
        _restore_sqlite(src / entry.name, Path(str(store.url.database)), store)
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(store.url)}", str(src / entry.name)], "pg_restore")
    return manifest


def _restore_sqlite(snapshot: Path, live: Path, store: Store) -> None:
    live.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".restore-", dir=live.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(snapshot, tmp)
        check = sqlite3.connect(tmp)
        try:
            result = check.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupError(_("the snapshot does not open as SQLite: %(reason)s",
                                reason=exc)) from None
        finally:
            check.close()
        if result != "ok":
            raise BackupError(_("the snapshot fails SQLite's integrity check: %(reason)s",
                                reason=result))
        _fsync(tmp)
        store.close()  # no pooled connection may keep the old file's WAL open
        for suffix in ("-wal", "-shm"):
            Path(f"{live}{suffix}").unlink(missing_ok=True)
        tmp.replace(live)
    finally:
        tmp.unlink(missing_ok=True)
