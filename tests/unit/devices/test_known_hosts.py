"""devices.driver.FirstSeenHostKeys: a device's SSH host key is trusted on first contact
and refused when it differs from the key kept, whatever the session read earlier."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest
from paramiko.hostkeys import HostKeyEntry
from paramiko.ssh_exception import BadHostKeyException

from devices.driver import FirstSeenHostKeys

DEVICE = "[10.1.1.1]:22"


def test_a_key_kept_since_the_session_read_the_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    kept = paramiko.ECDSAKey.generate()
    # another session recorded the device after this one's client loaded the file (or
    # while it was being rewritten): the client has no key for it
    path.write_text(HostKeyEntry([DEVICE], kept).to_line())
    before = path.read_text()
    stale = paramiko.SSHClient()
    with pytest.raises(BadHostKeyException):
        FirstSeenHostKeys(path).missing_host_key(stale, DEVICE, paramiko.ECDSAKey.generate())
    FirstSeenHostKeys(path).missing_host_key(stale, DEVICE, kept)  # the same key: fine
    assert path.read_text() == before


def test_a_new_device_is_appended_and_the_file_stays_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "known_hosts"
    first, second = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    FirstSeenHostKeys(path).missing_host_key(paramiko.SSHClient(), DEVICE, first)
    FirstSeenHostKeys(path).missing_host_key(paramiko.SSHClient(), "10.1.1.2", second)
    known = paramiko.HostKeys(str(path))
    assert known.lookup(DEVICE) == {first.get_name(): first}
    assert known.lookup("10.1.1.2") == {second.get_name(): second}
    assert path.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["known_hosts", "known_hosts.lock"]
