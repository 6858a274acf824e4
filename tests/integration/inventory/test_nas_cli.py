"""`citynet nas add/set/remove`: overlapping addresses and short secrets refused, every
change audited without its secret."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from citynet import audit
from citynet.cli import cli
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from inventory.models import NasClient

LONG = "a-long-shared-secret-1"  # 22 characters
OTHER = "another-shared-secret-2"


class Nas:
    def __init__(self, config: Config, store: Store) -> None:
        self.config, self.store = config, store

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> str:
        env = {"CITYNET_DATA_DIR": str(self.config.data_path),
               "CITYNET_DATABASE__URL": self.config.database.url}
        result = CliRunner().invoke(cli, ["nas", *args], env=env, input=input)
        assert result.exit_code == code, result.output
        return result.output

    def audited(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self.store.session() as session:
            return [(e.action, e.target, e.detail["changed"]) for e in
                    reversed(audit.recent(session, "inventory."))]

    def secret_of(self, name: str, column: Any = NasClient.secret_sealed) -> str:
        """A NAS's secret (or, with ``column``, its other sealed key) as unsealed."""
        box = open_box(self.config, self.store)
        assert box is not None
        with self.store.session() as session:
            sealed = session.scalar(select(column).where(NasClient.name == name))
            assert sealed is not None
            return box.open(sealed)


@pytest.fixture
def nas(backend_config: Config, store: Store) -> Nas:
    return Nas(backend_config, store)


def test_an_address_overlapping_another_nas_is_refused_naming_it(nas: Nas) -> None:
    nas("add", "ap-1", "--ip", "10.20.0.1", "--secret", LONG)
    nas("add", "ap-4", "--ip", "10.20.0.4", "--secret", LONG)
    refused = nas("add", "gw", "--ip", "10.20.0.0/24", "--secret", LONG, code=1)
    assert "--ip: '10.20.0.0/24' overlaps 10.20.0.1/32 of nas 'ap-1'" in refused
    assert "overlaps 10.20.0.4/32 of nas 'ap-4'" in refused
    nas("add", "gw", "--ip", "10.20.1.0/24", "--secret", LONG)  # next door: fine
    refused = nas("add", "ap-9", "--ip", "10.20.1.9", "--secret", LONG, code=1)
    assert "'10.20.1.9' overlaps 10.20.1.0/24 of nas 'gw'" in refused
    refused = nas("set", "ap-4", "--ip", "10.20.1.4", code=1)  # moving into it: the same
    assert "overlaps 10.20.1.0/24 of nas 'gw'" in refused
    assert "ap-9" not in nas("list")


def test_a_short_secret_is_refused_unless_the_operator_says_so(nas: Nas) -> None:
    refused = nas("add", "gw", "--ip", "10.20.0.1", "--secret", "s", code=1)
    assert "shorter than 16 characters" in refused and "--allow-short-secret" in refused
    assert "gw" not in nas("list")
    nas("add", "gw", "--ip", "10.20.0.1", "--secret", "x" * 15, "--allow-short-secret")
    assert "shorter than 16" in nas("set", "gw", "--secret", "tiny", code=1)
    assert nas.secret_of("gw") == "x" * 15
    nas("set", "gw", "--secret", "tiny", "--allow-short-secret")
    assert nas.secret_of("gw") == "tiny"


def test_a_secret_with_a_line_break_is_refused_unechoed(nas: Nas) -> None:
    injected = f"{LONG}\nip route 0.0.0.0 0.0.0.0 10.6.6.6"
    refused = nas("add", "gw", "--ip", "10.20.0.1", "--secret", injected, code=1)
    assert "--secret: contains a control character" in refused and LONG not in refused
    assert "gw" not in nas("list")
    nas("add", "gw", "--ip", "10.20.0.1", "--secret", LONG)
    refused = nas("set", "gw", "--secret", injected, code=1)
    assert "--secret: contains a control character" in refused and LONG not in refused
    assert nas.secret_of("gw") == LONG


def test_nas_set_changes_secret_and_address_and_audits_it(nas: Nas) -> None:
    nas("add", "gw", "--ip", "10.20.0.1", "--vendor", "coovachilli", "--secret", LONG)
    said = nas("set", "gw", "--prompt", "--ip", "10.20.0.2", input=f"{OTHER}\n{OTHER}\n")
    assert "NAS gw: address, secret changed" in said and OTHER not in said
    assert nas.secret_of("gw") == OTHER
    assert "10.20.0.2" in nas("list") and "coovachilli" in nas("list")  # the rest kept
    assert "nothing changed" in nas("set", "gw", "--policy", "default")
    assert "no NAS named 'nope'" in nas("set", "nope", "--ip", "10.1.1.1", code=1)
    assert "give --secret or --prompt" in nas("set", "gw", "--secret", OTHER, "--prompt",
                                              code=2)
    nas("remove", "gw")
    created, edited, deleted = nas.audited()
    assert created[:2] == ("inventory.create", "nas:gw")
    assert created[2]["secret"] == "(changed)" and created[2]["address"] == [None, "10.20.0.1"]
    assert edited == ("inventory.edit", "nas:gw", {"address": ["10.20.0.1", "10.20.0.2"],
                                                   "secret": "(changed)"})
    assert deleted[:2] == ("inventory.delete", "nas:gw")
    assert LONG not in str(nas.audited()) and OTHER not in str(nas.audited())


def test_a_portal_protocol_ac_is_registered_with_its_sealed_key(nas: Nas) -> None:
    from portal.acnas import AcDirectory
    from portal.acportal import Version
    nas("add", "ac-luohu", "--ip", "10.20.0.2", "--secret", LONG, "--vendor", "huawei",
        "--portal-protocol", "huawei-v2", "--portal-secret", "portal-key-1")
    listed = nas("list")
    assert "huawei-v2:2000" in listed and "portal-key-1" not in listed
    with nas.store.session() as session:
        sealed = session.scalar(select(NasClient.portal_secret_sealed))
        assert sealed is not None and "portal-key-1" not in sealed
        directory = AcDirectory.load(session, open_box(nas.config, nas.store))
    ac = directory.by_name("AC-LUOHU")
    assert ac is not None and ac == directory.by_address("10.20.0.2")
    assert (ac.port, ac.version, ac.secret) == (2000, Version.V2, b"portal-key-1")
    assert "portal-key-1" not in repr(ac)
    nas("set", "ac-luohu", "--portal-protocol", "cmcc-v1", "--portal-port", "2001",
        "--portal-secret", "portal-key-2")
    with nas.store.session() as session:
        ac = AcDirectory.load(session, open_box(nas.config, nas.store)).by_name("ac-luohu")
    assert ac is not None and (ac.port, ac.version, ac.secret) == (
        2001, Version.V1, b"portal-key-2")
    changed = nas.audited()[-1][2]
    assert "portal-key" not in str(changed) and "portal_secret" in changed


def test_nas_set_asks_for_a_new_portal_key_keeping_it_out_of_history(nas: Nas) -> None:
    nas("add", "ac", "--ip", "10.20.0.2", "--secret", LONG, "--portal-protocol", "huawei-v2",
        "--portal-secret", "portal-key-1")
    refused = nas("set", "ac", "--prompt-portal-secret", input="portal-key-2\nportal-key-3\n",
                  code=1)  # click asks again on a mismatch, until the input runs out
    assert "do not match" in refused and "Aborted" in refused
    assert nas.secret_of("ac", NasClient.portal_secret_sealed) == "portal-key-1"
    said = nas("set", "ac", "--prompt-portal-secret", input="portal-key-2\nportal-key-2\n")
    assert "NAS ac: portal_secret changed" in said and "portal-key-2" not in said
    assert nas.secret_of("ac", NasClient.portal_secret_sealed) == "portal-key-2"
    assert nas.secret_of("ac") == LONG  # the RADIUS secret is another key
    assert "give --portal-secret or --prompt-portal-secret" in nas(
        "set", "ac", "--portal-secret", "k" * 16, "--prompt-portal-secret", code=2)
    assert "portal-key-2" not in str(nas.audited())


def test_portal_v2_needs_a_key_and_a_key_needs_a_protocol(nas: Nas) -> None:
    nas("add", "ac-v1", "--ip", "10.20.0.2", "--secret", LONG, "--portal-protocol", "cmcc-v1")
    refused = nas("set", "ac-v1", "--portal-protocol", "huawei-v2", code=1)  # `add` makes one
    assert "--portal-secret: huawei-v2 signs every datagram" in refused
    refused = nas("add", "ac", "--ip", "10.20.0.3", "--secret", LONG,
                  "--portal-secret", "k", code=1)
    assert "--portal-protocol:" in refused
    refused = nas("add", "ac", "--ip", "10.20.0.3", "--secret", LONG,
                  "--portal-protocol", "huawei-v3", code=2)
    assert "huawei-v3" in refused


def test_an_ac_with_its_own_redirect_parameter_names(nas: Nas) -> None:
    from portal.acnas import AcDirectory
    nas("add", "ac-2", "--ip", "10.20.0.4", "--secret", LONG, "--vendor", "h3c",
        "--portal-protocol", "huawei-v2", "--portal-secret", "k",
        "--portal-parameters", "user_ip = ip, ac_ip=acip")
    with nas.store.session() as session:
        directory = AcDirectory.load(session, open_box(nas.config, nas.store))
    assert directory.renamed == {"ac-2": ("h3c", {"user_ip": "ip", "ac_ip": "acip"})}
    refused = nas("set", "ac-2", "--portal-parameters", "user_ip=ip,colour=red", code=1)
    assert "--portal-parameters: 'colour=red': give role=name pairs" in refused
    refused = nas("set", "ac-2", "--portal-parameters", "url=a,url=b", code=1)
    assert "url named twice" in refused


def test_a_secret_is_read_from_standard_input_or_made_when_it_gives_none(nas: Nas) -> None:
    """The issue's own command line has no --secret: run from a script with nothing to
    read, `nas add` makes a strong secret and shows it once; piped, it reads it."""
    said = nas("add", "ac-1", "--ip", "10.20.0.1", "--vendor", "huawei",
               "--portal-protocol", "huawei-v2", input="")
    made = said.split("set the same on the NAS): ")[1].split()[0]
    assert len(made) >= 32 and nas.secret_of("ac-1") == made
    key = said.split("portal server): ")[1].strip()  # Portal 2.0's key, made too
    assert len(key) == 16 and nas.secret_of("ac-1", NasClient.portal_secret_sealed) == key
    assert made not in str(nas.audited()) and key not in str(nas.audited())
    nas("add", "ac-2", "--ip", "10.20.0.2", input=f"{LONG}\n")  # one line piped in
    assert nas.secret_of("ac-2") == LONG
    refused = nas("add", "ac-3", "--ip", "10.20.0.3", input=f"{LONG}\n{OTHER}\n", code=1)
    assert "the two secrets given do not match" in refused
    assert "ac-3" not in nas("list")
