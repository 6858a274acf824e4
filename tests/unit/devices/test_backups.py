"""Device config backups: sealing (pure) and the git store (real git in a temp dir)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from citynet.crypto import SecretBox
from citynet.errors import BackupError
from devices.backups import TOKEN, BackupStore, seal_lines, unseal_lines
from tests.conftest import make_config

# Cisco-like secret patterns, as a platform profile would give them.
PATTERNS = (
    re.compile(r"^radius-server host \S+ key (?P<secret>\S+)"),
    re.compile(r"^snmp-server community (?P<secret>\S+)"),
    re.compile(r"^ password (?P<secret>\S+)"),
)
RADIUS_KEY = "Rad1us-Sh4red-K3y"
COMMUNITY = "c0mmun1ty-pr1vate"
PASSWORD = "l0cal-Passw0rd"


def running(radius_key: str = RADIUS_KEY, ntp: str = "10.0.0.1") -> str:
    return (f"hostname {{host}}\n"
            f"ntp server {ntp}\n"
            f"radius-server host 10.1.1.1 key {radius_key}\n"
            f"snmp-server community {COMMUNITY} RO\n"
            f"username admin\n"
            f" password {PASSWORD}\n")


def config_of(host: str, **kw: str) -> tuple[str, tuple[re.Pattern[str], ...]]:
    return running(**kw).replace("{host}", host), PATTERNS


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.new_key()])


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "backups" / "devices")


def git(repo: Path, *args: str) -> str:
    """Run git on the store's repository, isolated from the user's git config."""
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_DIR": str(repo / ".git"),
           "GIT_WORK_TREE": str(repo), "LC_ALL": "C"}
    # tree objects are binary: replace what is not UTF-8, config text is
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True,
                          encoding="utf-8", errors="replace", check=True).stdout


# --- sealing, no git ----------------------------------------------------------------------

def test_seal_hides_every_secret_and_unseal_restores_the_text(box: SecretBox) -> None:
    text = running().replace("{host}", "sw1")
    sealed = seal_lines(text, PATTERNS, box)
    for secret in (RADIUS_KEY, COMMUNITY, PASSWORD):
        assert secret not in sealed
    assert len(TOKEN.findall(sealed)) == 3
    assert "ntp server 10.0.0.1\n" in sealed  # other lines untouched
    assert re.search(r"^snmp-server community \$citynet\$[\w=-]+\$ RO$", sealed, re.M)
    assert unseal_lines(sealed, box) == text


def test_unchanged_secrets_keep_their_token_changed_ones_get_a_new_one(box: SecretBox) -> None:
    first = seal_lines(running(), PATTERNS, box)
    assert seal_lines(running(), PATTERNS, box) != first  # fresh IV: why reuse is needed
    again = seal_lines(running(), PATTERNS, box, previous=first)
    assert again == first
    changed = seal_lines(running(radius_key="N3w-K3y"), PATTERNS, box, previous=first)
    old_lines, new_lines = first.splitlines(), changed.splitlines()
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] \
        == [2]  # only the RADIUS line
    assert "N3w-K3y" in unseal_lines(changed, box)


def test_token_reuse_follows_moved_lines_and_keeps_repeated_lines_apart(
        box: SecretBox) -> None:
    text = "snmp-server community aaa RO\nsnmp-server community bbb RO\n"
    first = seal_lines(text, PATTERNS, box)
    swapped = "snmp-server community bbb RO\nsnmp-server community aaa RO\n"
    again = seal_lines(swapped, PATTERNS, box, previous=first)
    assert again.splitlines() == first.splitlines()[::-1]
    assert unseal_lines(again, box) == swapped


def test_a_token_of_a_retired_key_is_sealed_afresh(box: SecretBox) -> None:
    first = seal_lines(running(), PATTERNS, box)
    other = SecretBox([SecretBox.new_key()])
    again = seal_lines(running(), PATTERNS, other, previous=first)
    assert unseal_lines(again, other) == running()


def test_overlapping_patterns_leave_no_part_of_a_secret_clear(box: SecretBox) -> None:
    patterns = (re.compile(r"key (?P<secret>\w+)"), re.compile(r"key \w{3}(?P<secret>\S+)"))
    sealed = seal_lines("key abcdef-ghi\n", patterns, box)
    assert "abc" not in sealed
    assert "ghi" not in sealed
    assert unseal_lines(sealed, box) == "key abcdef-ghi\n"


def test_a_pattern_without_a_secret_group_is_refused(box: SecretBox) -> None:
    with pytest.raises(ValueError, match="no group named 'secret'"):
        seal_lines("key x\n", (re.compile(r"key (\S+)"),), box)


# --- the store ----------------------------------------------------------------------------

def test_store_lives_under_the_data_dir(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert BackupStore.for_config(config).path == config.data_path / "backups" / "devices"


def test_an_empty_store_has_no_devices_and_no_history(store: BackupStore) -> None:
    assert store.devices() == []
    assert store.history("sw1") == []
    with pytest.raises(BackupError, match="no device backups yet"):
        store.read("sw1")
    assert not store.path.exists()  # reading creates nothing


def test_save_then_history_then_read(store: BackupStore, box: SecretBox) -> None:
    run = store.save({"sw1": config_of("sw1"), "sw2": config_of("sw2")}, "nightly", box)
    assert run.committed
    assert run.changed == ("sw1", "sw2")
    assert store.devices() == ["sw1", "sw2"]
    [revision] = store.history("sw1")
    assert revision.commit == run.commit
    assert revision.message == "backup: 2 devices, nightly"
    assert revision.at.utcoffset() == timedelta(0)
    sealed = store.read("sw1")
    assert sealed == store.read("sw1", run.commit)
    assert "hostname sw1\n" in sealed
    assert RADIUS_KEY not in sealed
    assert store.restore_text("sw1", run.commit, box) == config_of("sw1")[0]
    assert git(store.path, "log", "-1", "--format=%an <%ae>").strip() \
        == "citynet <citynet@localhost>"
    assert git(store.path, "status", "--porcelain") == ""


def test_an_unchanged_save_makes_no_commit(store: BackupStore, box: SecretBox) -> None:
    first = store.save({"sw1": config_of("sw1")}, "first", box)
    commits = git(store.path, "rev-list", "--count", "HEAD")
    again = store.save({"sw1": config_of("sw1")}, "again", box)
    assert not again.committed
    assert again.commit == first.commit
    assert git(store.path, "rev-list", "--count", "HEAD") == commits
    assert len(store.history("sw1")) == 1


def test_a_changed_secret_is_a_new_revision_that_restores_in_clear(
        store: BackupStore, box: SecretBox) -> None:
    old = store.save({"sw1": config_of("sw1")}, "before", box)
    new = store.save({"sw1": config_of("sw1", radius_key="R0tated-K3y")}, "key rotation", box)
    assert new.committed
    assert [r.commit for r in store.history("sw1")] == [new.commit, old.commit]
    assert "key R0tated-K3y" in store.restore_text("sw1", "HEAD", box)
    assert f"key {RADIUS_KEY}" in store.restore_text("sw1", old.commit, box)
    diff = store.diff("sw1", old.commit, new.commit)
    changed = [line for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(changed) == 2
    assert all(line[1:].startswith("radius-server host") for line in changed)
    assert "R0tated-K3y" not in diff


def test_an_unchanged_secret_shows_in_no_diff(store: BackupStore, box: SecretBox) -> None:
    old = store.save({"sw1": config_of("sw1")}, "before", box)
    new = store.save({"sw1": config_of("sw1", ntp="10.0.0.2")}, "new ntp", box)
    diff = store.diff("sw1", old.commit, new.commit)
    changed = [line for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-ntp server 10.0.0.1", "+ntp server 10.0.0.2"]
    assert store.diff("sw1", new.commit, new.commit) == ""


def test_the_repository_never_holds_a_clear_secret(store: BackupStore, box: SecretBox) -> None:
    store.save({"sw1": config_of("sw1"), "sw2": config_of("sw2")}, "first", box)
    store.save({"sw1": config_of("sw1", radius_key="Sec0nd-K3y")}, "second", box)
    everything = (git(store.path, "log", "-p", "--all")
                  + git(store.path, "cat-file", "--batch-all-objects", "--batch"))
    files = b"".join(p.read_bytes() for p in store.path.rglob("*") if p.is_file())
    assert "hostname sw2" in everything  # the grep does see file contents
    for secret in (RADIUS_KEY, "Sec0nd-K3y", COMMUNITY, PASSWORD):
        assert secret not in everything
        assert secret.encode() not in files


def test_bad_revisions_and_hostnames_are_clear_errors(
        store: BackupStore, box: SecretBox) -> None:
    store.save({"sw1": config_of("sw1")}, "first", box)
    with pytest.raises(BackupError, match="no revision 'nope' in the device backups"):
        store.read("sw1", "nope")
    with pytest.raises(BackupError, match="is not a revision"):
        store.diff("sw1", "--output=/tmp/x", "HEAD")
    with pytest.raises(BackupError, match="sw9 has no backup at revision HEAD"):
        store.read("sw9")
    with pytest.raises(BackupError, match="not usable as a file name"):
        store.save({"../escape": config_of("x")}, "bad", box)
    with pytest.raises(BackupError, match="cannot be opened"):
        store.restore_text("sw1", "HEAD", SecretBox([SecretBox.new_key()]))


def test_the_users_git_config_and_an_enclosing_repository_do_not_interfere(
        tmp_path: Path, box: SecretBox, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # If this were read: signing would fail (no key), and the hook would leave a mark
    # (post-commit hooks run even with --no-verify).
    hooks = home / "hooks"
    hooks.mkdir()
    hook = hooks / "post-commit"
    hook.write_text(f"#!/bin/sh\ntouch {home / 'hook-ran'}\n")
    hook.chmod(0o755)
    (home / ".gitconfig").write_text(f"[commit]\n\tgpgsign = true\n"
                                     f"[core]\n\thooksPath = {hooks}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    outer = tmp_path / "checkout"
    git(outer.parent, "init", "-q", str(outer))  # a data dir inside some other repository
    store = BackupStore(outer / "var" / "backups" / "devices")
    run = store.save({"sw1": config_of("sw1")}, "isolated", box)
    assert store.history("sw1")[0].commit == run.commit
    assert git(store.path, "log", "-1", "--format=%an").strip() == "citynet"
    outer_env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                 "GIT_CONFIG_GLOBAL": os.devnull}
    outer_log = subprocess.run(["git", "-C", str(outer), "rev-list", "--all"], env=outer_env,
                               capture_output=True, text=True, check=True)
    assert outer_log.stdout == ""
    assert not (tmp_path / "elsewhere").exists()
    assert not (home / "hook-ran").exists()


def test_concurrent_saves_all_land_and_the_repository_stays_sound(
        store: BackupStore, box: SecretBox) -> None:
    workers, rounds = 4, 3
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            for r in range(rounds):
                host = f"sw{n}"
                store.save({host: config_of(host, ntp=f"10.0.{n}.{r}")}, f"job {n}.{r}", box)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.devices() == [f"sw{n}" for n in range(workers)]
    for n in range(workers):
        assert len(store.history(f"sw{n}")) == rounds
        assert f"ntp server 10.0.{n}.{rounds - 1}\n" in store.read(f"sw{n}")
    # the store's first commit, then one per save
    assert git(store.path, "rev-list", "--count", "HEAD").strip() == str(1 + workers * rounds)
    git(store.path, "fsck", "--strict", "--no-progress")
    assert git(store.path, "status", "--porcelain") == ""
