"""Backup and verified restore, on SQLite and PostgreSQL."""

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from citynet import backup as backups
from citynet.db import Store
from citynet.errors import BackupError
from inventory.models import Street
from tests.conftest import make_config


class Writer(threading.Thread):
    """Inserts streets one transaction at a time and records each acknowledged commit."""

    def __init__(self, store: Store, limit: int = 20_000) -> None:
        super().__init__(daemon=True)
        self.store, self.limit = store, limit
        self.acknowledged: list[int] = []
        self.committed = threading.Condition()  # notified at every acknowledged commit
        self.warmed_up = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(self.limit):
                if self.stop.is_set():
                    return
                with self.store.session() as session:
                    session.add(Street(name=f"load-{i:06d}", name_en=""))
                with self.committed:
                    self.acknowledged.append(i)
                    self.committed.notify_all()
                if i == 50:
                    self.warmed_up.set()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
        finally:
            self.warmed_up.set()
            with self.committed:
                self.committed.notify_all()

    def wait_past(self, count: int, timeout: float = 60) -> bool:
        """Wait (bounded) until more than ``count`` commits are acknowledged."""
        with self.committed:
            return self.committed.wait_for(
                lambda: len(self.acknowledged) > count or not self.is_alive(), timeout)


@pytest.fixture
def target(tmp_path: Path, second_store_url: str) -> Iterator[Store]:
    """An empty store on the same backend to restore into."""
    store = Store.from_config(make_config(tmp_path / "restored",
                                          database={"url": second_store_url}))
    try:
        yield store
    finally:
        store.close()


def restored_numbers(store: Store) -> list[int]:
    with store.session() as session:
        names = session.scalars(select(Street.name).where(Street.name.like("load-%"))).all()
    return sorted(int(name[5:]) for name in names)


def test_backup_under_write_load_keeps_every_acknowledged_write(
        store: Store, target: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = Writer(store)
    writer.start()
    fsync = backups._fsync

    def fsync_once_the_writer_moved_on(path: Path) -> None:
        # the snapshot is taken; the writer commits before the backup ends, whatever the
        # scheduler does (a small store's snapshot can be over before its next commit)
        assert writer.wait_past(acknowledged_before)
        fsync(path)

    monkeypatch.setattr(backups, "_fsync", fsync_once_the_writer_moved_on)
    try:
        assert writer.warmed_up.wait(timeout=60)
        acknowledged_before = len(writer.acknowledged)
        manifest = backups.backup(store, tmp_path / "bk")
        acknowledged_after = len(writer.acknowledged)
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert writer.error is None
    assert acknowledged_after > acknowledged_before  # the writer really ran during the backup
    assert manifest.schema_revision == store.head_revision()

    backups.restore(target, tmp_path / "bk")
    numbers = restored_numbers(target)
    # every write acknowledged before the backup began is there ...
    assert numbers[:acknowledged_before] == list(range(acknowledged_before))
    # ... and the snapshot is one point in time: a gap-free prefix of the writer's commits
    assert numbers == list(range(len(numbers)))
    assert len(numbers) <= acknowledged_after + 1
    target.ensure_current()


def test_restore_replaces_the_live_store_contents(store: Store, tmp_path: Path) -> None:
    with store.session() as session:
        session.add(Street(name="before-backup", name_en=""))
    backups.backup(store, tmp_path / "bk")
    with store.session() as session:
        session.add(Street(name="after-backup", name_en=""))
    backups.restore(store, tmp_path / "bk")
    with store.session() as session:
        names = set(session.scalars(select(Street.name)))
    assert names == {"before-backup"}


def test_backup_refuses_a_non_empty_directory(store: Store, tmp_path: Path) -> None:
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "other").write_text("x")
    with pytest.raises(BackupError, match="is not empty"):
        backups.backup(store, tmp_path / "bk")


@pytest.fixture
def made_backup(store: Store, tmp_path: Path) -> Path:
    with store.session() as session:
        session.add(Street(name="keep-me", name_en=""))
    backups.backup(store, tmp_path / "bk")
    return tmp_path / "bk"


def _snapshot(backup_dir: Path) -> Path:
    return next(p for p in backup_dir.iterdir() if p.name != backups.MANIFEST)


@pytest.mark.parametrize(("damage", "message"), [
    ("truncate", "truncated or replaced"),
    ("flip", "does not match its checksum: corrupt"),
    ("no-manifest", "has no manifest.json: not a citynet backup, or a partial one"),
    ("bad-manifest", "manifest.json is damaged"),
    ("missing-file", "is missing"),
])
def test_a_damaged_backup_is_refused_and_the_store_untouched(
        store: Store, made_backup: Path, damage: str, message: str) -> None:
    snapshot = _snapshot(made_backup)
    if damage == "truncate":
        data = snapshot.read_bytes()
        snapshot.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data = bytearray(snapshot.read_bytes())
        data[len(data) // 2] ^= 0xFF
        snapshot.write_bytes(bytes(data))
    elif damage == "no-manifest":
        (made_backup / backups.MANIFEST).unlink()
    elif damage == "bad-manifest":
        (made_backup / backups.MANIFEST).write_text("{not json")
    else:
        snapshot.unlink()
    with store.session() as session:
        session.add(Street(name="live-only", name_en=""))
    with pytest.raises(BackupError, match=message):
        backups.restore(store, made_backup)
    with store.session() as session:
        assert set(session.scalars(select(Street.name))) == {"keep-me", "live-only"}


def test_restore_refuses_another_backend(sqlite_store: Store, tmp_path: Path,
                                         pg_database: str) -> None:
    backups.backup(sqlite_store, tmp_path / "bk")
    other = Store(pg_database)
    try:
        with pytest.raises(BackupError, match="the backup is of a sqlite store; this store is "
                                              "postgresql"):
            backups.restore(other, tmp_path / "bk")
    finally:
        other.close()


def test_manifest_records_size_and_checksum(made_backup: Path) -> None:
    manifest = json.loads((made_backup / backups.MANIFEST).read_text())
    [entry] = manifest["files"]
    assert entry["size"] == _snapshot(made_backup).stat().st_size
    assert len(entry["sha256"]) == 64


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 KiB tmpfs: too small for a snapshot of a seeded store (needs root, as CI is)."""
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_backup_to_a_full_disk_fails_cleanly(sqlite_store: Store, full_disk: Path) -> None:
    with sqlite_store.session() as session:
        session.add_all(Street(name=f"s{i}-" + "x" * 50, name_en="y" * 100) for i in range(2000))
    with pytest.raises(BackupError, match=r"^SQLite backup failed: database or disk is full"):
        backups.backup(sqlite_store, full_disk / "bk")
    assert list(full_disk.iterdir()) == []  # the partial backup is gone
