"""Secrets at rest against a real store: key files, canary checks, rotation."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from citynet import crypto
from citynet.config import Config
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.errors import SecretsError
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from inventory.models import Credential, NasClient
from tests.conftest import make_config


def add_secrets(store: Store, box: SecretBox) -> None:
    with store.session() as session:
        outcome = import_rows(session, [
            RawRow("t", 1, KINDS["nas"], {"name": "gw", "address": "10.9.0.1",
                                          "secret": "nas-shared-secret"}),
            RawRow("t", 2, KINDS["credentials"], {"name": "ops", "username": "u",
                                                  "password": "device-pass",
                                                  "enable_secret": "enable-pass"}),
        ], box)
        assert outcome.ok


def stored_plaintexts(store: Store, box: SecretBox) -> list[str]:
    with store.session() as session:
        nas = session.scalars(select(NasClient)).one()
        cred = session.scalars(select(Credential)).one()
        assert cred.enable_secret_sealed is not None
        return [box.open(nas.secret_sealed), box.open(cred.password_sealed),
                box.open(cred.enable_secret_sealed)]


def test_first_use_creates_an_owner_only_key_file(backend_config: Config, store: Store) -> None:
    assert open_box(backend_config, store) is None  # nothing sealed, nothing created
    box = open_box(backend_config, store, create=True)
    assert box is not None
    assert os.stat(backend_config.key_path).st_mode & 0o777 == 0o600
    add_secrets(store, box)
    with store.session() as session:
        raw = session.scalars(select(NasClient.secret_sealed)).one()
    assert "nas-shared-secret" not in raw


def test_missing_key_with_sealed_data_stops_start_up(backend_config: Config,
                                                     store: Store) -> None:
    box = open_box(backend_config, store, create=True)
    assert box is not None
    add_secrets(store, box)
    backend_config.key_path.unlink()
    with pytest.raises(SecretsError, match="holds encrypted secrets but no key was found: "
                                           "restore the key file"):
        open_box(backend_config, store, create=True)  # never silently makes a new key
    assert not backend_config.key_path.exists()


def test_wrong_key_stops_start_up(backend_config: Config, store: Store) -> None:
    open_box(backend_config, store, create=True)
    crypto.write_key_file(backend_config.key_path, [SecretBox.new_key()])
    with pytest.raises(SecretsError, match="does not match this store's encrypted data"):
        open_box(backend_config, store)


def test_rotate_with_a_key_file(backend_config: Config, store: Store) -> None:
    box = open_box(backend_config, store, create=True)
    assert box is not None
    add_secrets(store, box)
    old_keys = crypto.read_key_file(backend_config.key_path)
    count, _message = crypto.rotate(backend_config, store)
    assert count == 3
    new_keys = crypto.read_key_file(backend_config.key_path)
    assert len(new_keys) == 1 and new_keys[0] not in old_keys
    new_box = open_box(backend_config, store)
    assert new_box is not None
    assert stored_plaintexts(store, new_box) == ["nas-shared-secret", "device-pass",
                                                 "enable-pass"]
    with pytest.raises(SecretsError):
        stored_plaintexts(store, SecretBox(old_keys))
    [retired] = backend_config.key_path.parent.glob("secret.key.retired-*")
    assert crypto.read_key_file(retired) == old_keys


def test_the_web_session_key_survives_a_rotation(backend_config: Config,
                                                store: Store) -> None:
    from citynet.app import session_key

    box = open_box(backend_config, store, create=True)
    key = session_key(store, box)
    assert session_key(store, box) == key  # one key for every worker and restart
    count, _message = crypto.rotate(backend_config, store)
    assert count == 1  # the session key is the only sealed value here
    assert session_key(store, open_box(backend_config, store)) == key


def test_rotate_with_keys_from_the_environment(tmp_path: Path, store: Store,
                                               backend_config: Config) -> None:
    old, new = SecretBox.new_key(), SecretBox.new_key()
    url = backend_config.database.url
    old_config = make_config(tmp_path, database={"url": url},
                             secrets={"key": old.decode()})
    box = open_box(old_config, store)
    assert box is not None
    add_secrets(store, box)
    both = make_config(tmp_path, database={"url": url},
                       secrets={"key": f"{new.decode()},{old.decode()}"})
    count, message = crypto.rotate(both, store)
    assert count == 3 and "remove the others" in message
    only_new = make_config(tmp_path, database={"url": url}, secrets={"key": new.decode()})
    new_box = open_box(only_new, store)
    assert new_box is not None
    assert stored_plaintexts(store, new_box)[0] == "nas-shared-secret"
