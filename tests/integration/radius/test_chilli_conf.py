"""`citynet radius chilli-conf`: a NAS's CoovaChilli lines from the registry and config."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner

from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store
from tests.integration.portal.conftest import NAS_SECRET, NASID, UAM_SECRET, add_hotspot_nas


def test_the_file_names_both_servers_and_is_for_root_only(backend_config: Config,
                                                          store: Store, tmp_path: Path) -> None:
    add_hotspot_nas(backend_config, store)
    out = tmp_path / "chilli.conf"
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url,
           "CITYNET_RADIUS__SERVERS": "10.1.0.10,10.2.0.10"}
    result = CliRunner().invoke(cli, ["radius", "chilli-conf", NASID, "--portal-url",
                                      "https://portal.example.cn/portal", "--out", str(out)],
                                env=env)
    assert result.exit_code == 0, result.output
    assert NAS_SECRET not in result.output
    text = out.read_text()
    for line in ("radiusserver1   10.1.0.10", "radiusserver2   10.2.0.10",
                 f"radiussecret    {NAS_SECRET}", f"uamsecret       {UAM_SECRET}",
                 f"radiusnasid     {NASID}"):
        assert line in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    missing = CliRunner().invoke(cli, ["radius", "chilli-conf", "nobody", "--portal-url",
                                       "http://p/", "--out", str(out)], env=env)
    assert missing.exit_code == 1 and "no NAS named 'nobody'" in missing.output
