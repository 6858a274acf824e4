"""Each domain's commands speak the command's language (docs/i18n.md, "The command line"):
with ``--lang zh-Hant`` their messages for people read Hong Kong Traditional Chinese from
the domain's catalogs; without it, the English they always printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from citynet.config import Config
from citynet.crypto import open_box
from inventory import demo
from inventory.importer import import_rows
from tests.conftest import upgraded


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """The demo district on SQLite, once for the module."""
    from tests.conftest import make_config

    config = make_config(tmp_path_factory.mktemp("languages"))
    for store in upgraded(config):
        box = open_box(config, store, create=True)
        with store.session() as session:
            assert import_rows(session, demo.raw_rows(), box).ok
        yield config


def run(config: Config, *args: str, code: int = 0, lang: str = "C.UTF-8",
        input: str | None = None) -> Result:
    from citynet.cli import cli

    result = CliRunner().invoke(cli, list(args), input=input,
                                env={"CITYNET_DATA_DIR": str(config.data_path),
                                     "CITYNET_DATABASE__URL": "", "LANG": lang})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def hant(config: Config, *args: str, code: int = 0, input: str | None = None) -> Result:
    return run(config, "--lang", "zh-Hant", *args, code=code, input=input)


def simplified(config: Config, *args: str, code: int = 0) -> Result:
    """As a terminal with a Simplified Chinese locale runs it (no --lang)."""
    return run(config, *args, code=code, lang="zh_CN.UTF-8")


def test_the_kernels_errors_and_messages(district: Config) -> None:
    assert simplified(district, "staff", "disable", "ghost", code=1).stderr == (
        "Error: 没有名为 'ghost' 的工作人员（citynet staff list）\n")
    assert run(district, "staff", "disable", "ghost", code=1).stderr == (
        "Error: no staff user named 'ghost' (citynet staff list)\n")
    weak = "Error: 密碼至少要有 12 個字元\n"
    assert hant(district, "staff", "add", "ho.ka", "--role", "auditor", "--password-stdin",
                input="short\n", code=1).stderr == weak
    assert hant(district, "db", "current").stdout.startswith("儲存：    sqlite:///")


def test_staff_list_says_its_states_and_json_keeps_them_english(district: Config) -> None:
    """The 2fa and state cells are words for people in the table; ``--json`` and
    ``--csv`` keep the English values scripts read."""
    import json
    import re
    from datetime import UTC, datetime, timedelta

    from citynet import staff

    password = "a long enough passphrase\n"
    for name, role in (("chan.tai", "engineer"), ("lee.wing", "operator"),
                       ("wong.siu", "auditor")):
        run(district, "staff", "add", name, "--role", role, "--password-stdin",
            input=password)
    run(district, "staff", "disable", "lee.wing")
    for store in upgraded(district):
        with store.session() as session:
            staff.get(session, "wong.siu").locked_until = (
                datetime.now(UTC) + timedelta(minutes=10))

    rows = {line.split()[0]: line.split()[1:]
            for line in hant(district, "staff", "list").stdout.splitlines()[1:]}
    assert rows["chan.tai"] == ["engineer", "否！", "正常", "從未"]
    assert rows["lee.wing"] == ["operator", "否", "已停用", "從未"]
    assert rows["wong.siu"][:2] == ["auditor", "否"]
    assert re.fullmatch(r"鎖定 \d+ 秒", " ".join(rows["wong.siu"][2:5]))
    english = {line.split()[0]: line.split()[1:]
               for line in run(district, "staff", "list").stdout.splitlines()[1:]}
    assert english["chan.tai"] == ["engineer", "no!", "active", "never"]
    assert re.fullmatch(r"locked \d+ s", " ".join(english["wong.siu"][2:5]))

    listed = {u["name"]: u for u in json.loads(hant(district, "staff", "list",
                                                    "--json").stdout)["staff"]}
    assert [listed[n]["totp"] for n in ("chan.tai", "lee.wing")] == ["missing", "no"]
    assert listed["lee.wing"]["state"] == "disabled"
    assert listed["chan.tai"]["state"] == "active"
    assert re.fullmatch(r"locked \d+ s", listed["wong.siu"]["state"])
    csv = hant(district, "staff", "list", "--csv").stdout
    assert "chan.tai,engineer,missing,active," in csv
    assert "lee.wing,operator,no,disabled," in csv


def test_a_listings_count(district: Config) -> None:
    assert simplified(district, "inventory", "show", "streets").stderr == "10 条街道\n"
    assert hant(district, "nas", "list").stderr == "1 個 NAS 用戶端\n"
    assert run(district, "nas", "list").stderr == "1 NAS client\n"


def test_an_error_raised_below_the_command_keeps_its_english_apart(district: Config) -> None:
    """A domain's error that an API also returns (SelectorError) is said in the command's
    language on the CLI, and stays English in ``str()``."""
    said = simplified(district, "devices", "backup", "zzz", code=1).stderr
    assert said.startswith("Error: 没有设备符合 zzz（")
    assert run(district, "devices", "backup", "zzz", code=1).stderr.startswith(
        "Error: no device matches zzz (HOSTNAME or a glob")


def test_targets_speak_the_commands_language_and_json_stays_english(district: Config) -> None:
    import json
    import re

    table = simplified(district, "targets").stdout
    assert re.search(r"\n +全区还有 \d+ 栋政务楼宇待接入光纤\n", table)
    assert "目标 100%，期限 2027-12-31" in table
    english = re.compile(r"\d+ more government buildings to connect in the district")
    shown = json.loads(simplified(district, "targets", "--json").stdout)
    assert any(english.fullmatch(target["shortfall_text"]) for target in shown)
    assert english.search(run(district, "--lang", "zh-CN", "targets", "--lang", "en").stdout)


def test_radius_commands(district: Config) -> None:
    terms = hant(district, "radius", "profile", "set", "library", "--daily-minutes", "120")
    assert terms.stdout.startswith("library：每次上網 ≤ 240 分鐘，")
    assert "每日 120 分鐘" in terms.stdout
    assert run(district, "radius", "profile", "set", "library").stdout.startswith(
        "library: session ≤ 240 min, ")
    long = "x" * 65
    assert hant(district, "radius", "profile", "set", long, code=1).stderr == (
        f"Error: 政策設定 {long}：名稱須為 1 至 64 個字元\n")
    made = hant(district, "vouchers", "create", "--count", "2", "--minutes", "10")
    assert made.stderr.startswith("2 張上網券，10 分鐘，每張 1 部裝置，批次 -，未使用的於 ")
    assert hant(district, "radius", "remember", "zz", "--phone", "13800138000",
                code=1).stderr == "Error: 'zz' 不是 MAC 位址\n"
    assert hant(district, "records", "purge", "--older-than-days", "30",
                code=1).stderr == "Error: 紀錄最少須保留 60 日\n"
    assert run(district, "records", "purge", "--older-than-days", "30",
               code=1).stderr == "Error: records must be kept at least 60 days\n"
    assert hant(district, "records", "purge").stdout.splitlines()[1] == (
        "已清除同樣久遠的 0 條計費紀錄及 0 個已結束的上網連線")


def test_inventory_commands(district: Config) -> None:
    assert hant(district, "nas", "remove", "nobody", code=1).stderr == (
        "Error: 沒有名為 'nobody' 的 NAS（見 `citynet nas list`）\n")
    assert hant(district, "nas", "set", "nobody", code=2).stderr.endswith(
        "Error: 沒有要更改的項目：請最少給出一個選項\n")
    assert run(district, "nas", "remove", "nobody", code=1).stderr == (
        "Error: no NAS named 'nobody' (see `citynet nas list`)\n")


def test_an_import_says_its_problems_and_keeps_their_place(district: Config,
                                                          tmp_path: Path) -> None:
    streets = tmp_path / "streets.csv"
    streets.write_text("name,zzz\nfoo,1\n", encoding="utf-8")
    assert hant(district, "inventory", "import", str(streets), code=3).stderr == (
        f"{streets}:1: zzz: 不明欄位；streets 的欄位有：name, name_en\n"
        "Error: 1 個問題；未匯入任何內容\n")
    assert run(district, "inventory", "import", str(streets), code=3).stderr == (
        f"{streets}:1: zzz: unknown column; streets has: name, name_en\n"
        "Error: 1 problem; nothing was imported\n")


def test_monitoring_commands(district: Config) -> None:
    assert hant(district, "survey", "list").stderr == (
        "（仍未有實地測量：citynet survey import --help）\n")
    assert hant(district, "alerts", "test", code=1).stderr == (
        "Error: 沒有設定警報渠道：請設定 monitoring.alert_webhooks，或 monitoring.smtp_host 和 "
        "monitoring.mail_to\n")
    assert run(district, "survey", "list").stderr == (
        "(no surveys yet: citynet survey import --help)\n")


def test_alert_details_are_said_and_json_keeps_them_english(district: Config) -> None:
    import json
    import re
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from inventory.models import AccessPoint
    from monitoring.models import ProbeState

    down = datetime.now(UTC) - timedelta(hours=3)
    for store in upgraded(district):
        with store.session() as session:
            mac = session.scalars(select(AccessPoint.mac).where(AccessPoint.name != "")
                                  .order_by(AccessPoint.mac)).first()
            session.merge(ProbeState(target=f"ap:{mac}", up=False, since=down,
                                     checked_at=down))
    checked = hant(district, "alerts", "check").stdout
    assert f"觸發中   ap_down:ap:{mac}  " in checked and "起離線" in checked
    assert "FIRING" not in checked
    assert " down since " not in checked
    table = hant(district, "alerts", "list").stdout
    assert "起離線" in table and re.search(r"3 小時 \d+ 分鐘", table)
    assert "down since" not in table
    [shown] = [alert for alert in json.loads(hant(district, "alerts", "list",
                                                  "--json").stdout)["alerts"]
               if alert["key"] == f"ap_down:ap:{mac}"]
    assert " at " in shown["detail"] and " down since " in shown["detail"]
    assert re.fullmatch(r"3 h \d+ min", shown["for"])
    assert " down since " in run(district, "alerts", "list").stdout


def test_a_survey_plans_problems_keep_their_place(district: Config, tmp_path: Path) -> None:
    plan, capture = tmp_path / "plan.csv", tmp_path / "walk.pcap"
    plan.write_text("point,start,end\ngate,2026-05-01T10:00:00,1777600060\n"
                    "stage,1777600000,1777600060\nstage,1777600100,1777600160\n"
                    "exit,1777600260,1777600200\n")
    capture.write_bytes(b"")  # the plan is read first
    args = ("survey", "import", str(capture), "--name", "walk", "--points", str(plan))
    assert hant(district, *args, code=1).stderr == (
        f"Error: {plan}:2: '2026-05-01T10:00:00' 沒有 UTC 時差（請寫成例如 "
        "2026-05-01T10:00:00+08:00 或 2026-05-01T10:00:00Z）\n"
        f"{plan}:4: 測點 'stage' 在第 3 行亦有出現\n{plan}:5: exit：結束時間不遲於開始時間\n")
    assert simplified(district, *args, code=1).stderr.endswith(
        f"{plan}:5: exit：结束时间不晚于开始时间\n")
    assert run(district, *args, code=1).stderr == (
        f"Error: {plan}:2: '2026-05-01T10:00:00' has no UTC offset (write e.g. "
        "2026-05-01T10:00:00+08:00 or 2026-05-01T10:00:00Z)\n"
        f"{plan}:4: point 'stage' is also on line 3\n{plan}:5: exit: end is not after start\n")


def test_devices_commands(district: Config) -> None:
    assert hant(district, "devices", "plan", "--reason", "CHG-1", code=2).stderr.endswith(
        "Error: --reason 和 --as 要與 --request 一起使用\n")
    assert hant(district, "devices", "history", "nobody", code=1).stderr == (
        "Error: nobody 沒有備份：執行 `citynet devices backup nobody`\n")
    assert run(district, "devices", "history", "nobody", code=1).stderr == (
        "Error: no backup of nobody: run `citynet devices backup nobody`\n")


def test_admission_commands(district: Config) -> None:
    assert hant(district, "nac", "people", "list").stderr == (
        "（沒有人員：用 `citynet nac people import` 匯入）\n")
    assert hant(district, "nac", "crl", code=2).stderr.endswith(
        "Error: 請給出 --out FILE 或 --dir TRUST_DIR 其中之一\n")
    assert run(district, "nac", "people", "list").stderr == (
        "(no people: import them with `citynet nac people import`)\n")


def test_the_people_importers_summary(district: Config, tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text("username,real_name,role\nt001,王芳,teacher\ns042,李雷,student\n",
                  encoding="utf-8")
    assert simplified(district, "nac", "people", "import", str(hr), "--dry-run").stdout == (
        "试运行：未写入任何内容；导入将会：新增 2 人，更新 0 人，0 人不变\n")
    assert hant(district, "nac", "people", "import", str(hr), "--dry-run").stdout == (
        "試行：未寫入任何內容；匯入將會：新增 2 人，更新 0 人，0 人不變\n")
    assert run(district, "nac", "people", "import", str(hr), "--dry-run").stdout == (
        "dry run: nothing written; an import would do: 2 new, 0 updated, 0 unchanged\n")


def test_the_people_importers_problems(district: Config, tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text("username,real_name,role\nt001,王芳,teacher\nt001,李雷,student\n"
                  "t002,张伟,wizard\n", encoding="utf-8")
    said = hant(district, "nac", "people", "import", str(hr), code=3).stderr
    assert said.splitlines() == [
        f"{hr}:3: username: 't001' 重複（首次出現於 {hr}:2）",
        f"{hr}:4: role: 須為以下其中之一：staff, teacher, student",
        "Error: 2 個問題；未匯入任何內容"]
    english = run(district, "nac", "people", "import", str(hr), code=3).stderr
    assert english.splitlines()[:2] == [
        f"{hr}:3: username: duplicate 't001' (first at {hr}:2)",
        f"{hr}:4: role: one of staff, teacher, student"]


def test_mac_bypass_commands(district: Config) -> None:
    assert hant(district, "nac", "mab", "remove", "aa:bb:cc:dd:ee:ff", code=1).stderr == (
        "Error: aa:bb:cc:dd:ee:ff 不在 MAC 略過名單上\n")
