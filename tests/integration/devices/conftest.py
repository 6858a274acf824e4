"""A district whose network devices are lab routers: FRRouting behind OpenSSH (real) and
the stateful Huawei/H3C fakes, in a store on SQLite, driven through the real `citynet`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.vrp import FakeVrp
from tests.lab.frr import FrrLab, Router
from tests.support import CITYNET


class Cli:
    """The installed `citynet` with this test's data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env["CITYNET_DATA_DIR"] = str(data_dir)

    def __call__(self, *args: str, code: int | None = 0,
                 input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([CITYNET, *args], capture_output=True, text=True, input=input,
                                env=self.env, timeout=300, check=False)
        if code is not None:
            assert result.returncode == code, (result.stdout, result.stderr)
        return result


def import_switches(cli: Cli, tmp_path: Path, switches: dict[str, FakeVrp], password: str,
                    radius_key: str) -> None:
    """The fake Huawei/H3C access switches into the store: one login for all, one NAS
    entry (its key is what the guest WiFi and 802.1X templates give the switches)."""
    rows = {
        "credentials": [{"name": "lab", "username": "netops", "password": password}],
        "nas": [{"name": "lab-switches", "address": "127.0.0.1", "secret": radius_key,
                 "vendor": "huawei"}],
        "devices": [{"hostname": name, "host": "127.0.0.1", "port": fake.port,
                     "platform": "huawei" if fake.flavour.name == "huawei" else "hp_comware",
                     "role": "access_switch", "site": "笋岗社区", "credential": "lab"}
                    for name, fake in switches.items()],
    }
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(rows, allow_unicode=True))
    cli("inventory", "import", str(path))


def inventory(routers: list[Router], extra_devices: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    """Inventory rows: two sites of lab routers, one shared credential."""
    return {
        "credentials": [{"name": "lab", "username": routers[0].username,
                         "password": routers[0].password}],
        "devices": [{"hostname": r.hostname, "host": r.host, "port": r.port,
                     "platform": "frr", "role": "router",
                     "site": "lab-a" if i % 2 == 0 else "lab-b", "credential": "lab"}
                    for i, r in enumerate(routers)] + (extra_devices or []),
    }


INTENT_VARS = {"defaults": {"banner": "citynet lab", "guest_network": "10.100.0.0/22",
                            "guest_networks": ["10.100.0.0/22", "10.101.0.0/22"],
                            "ssid": "i-Shenzhen"}}


@pytest.fixture(scope="module")
def frr_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Router]]:
    lab = FrrLab(tmp_path_factory.mktemp("frr"))
    try:
        yield lab.start(3)
    finally:
        lab.stop()


@pytest.fixture
def district(tmp_path: Path, frr_lab: list[Router]) -> Cli:
    """A store with the lab routers in its inventory and an intent file."""
    cli = Cli(tmp_path / "var")
    cli("db", "upgrade")
    rows = tmp_path / "lab.yaml"
    rows.write_text(yaml.safe_dump(inventory(frr_lab), allow_unicode=True))
    cli("inventory", "import", str(rows))
    (tmp_path / "var" / "intent.yaml").write_text(yaml.safe_dump(INTENT_VARS,
                                                                 allow_unicode=True))
    for router in frr_lab:  # every test starts from a router without the intent
        router.vtysh("configure terminal", "no ip prefix-list CITYNET-GUEST",
                     "no log syslog", "end", "write memory")
    return cli
