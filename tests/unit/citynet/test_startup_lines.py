"""The start-up lines ``citynet serve`` and ``citynet demo`` print as each service starts
are in the command's language (English by default: tests and scripts read the ports from
them), and a child process speaks its parent's language."""

from __future__ import annotations

from pathlib import Path

from citynet import catalogs
from citynet.domains import registered
from citynet.process import ChildProcess, citynet_argv
from monitoring.service import describe
from tests.conftest import make_config


def test_a_childs_line_and_the_collectors_line_in_the_commands_language(
        tmp_path: Path) -> None:
    config = make_config(tmp_path)
    child = ChildProcess("radius-1", ["true"], "RADIUS listener 1")
    assert child.describe() == "RADIUS listener 1 (process -)"
    assert describe(config).startswith("collectors running: ")
    assert describe(config).endswith(" (InfluxDB: off)")
    with catalogs.speaking("zh-Hant", registered()):
        assert child.describe() == "RADIUS listener 1（進程 -）"
        assert describe(config).startswith("資料收集器運行中：")
        assert describe(config).endswith("（InfluxDB：關閉）")


def test_a_child_is_started_in_the_commands_language() -> None:
    assert citynet_argv(None, "collect")[3:] == ["--lang", "en", "collect"]
    with catalogs.speaking("zh-CN", registered()):
        assert citynet_argv("/etc/citynet.toml", "collect")[3:] == [
            "--lang", "zh-CN", "--config", "/etc/citynet.toml", "collect"]
