"""A device's reason is English where it is kept (``--json``, the audit record, the API)
and said in the command's language on the CLI's per-device lines."""

from __future__ import annotations

import json

import pytest

from citynet import catalogs
from citynet.domains import registered
from devices.cli import _summary
from devices.driver import Login, connect_failure
from devices.fleet import Limits, Result, Status, run
from devices.intent import Device, IntentError, Renderer
from devices.platforms import profile
from devices.targets import Unready
from tests.unit.devices.test_fleet import target


def refused() -> Result:
    login = Login("sw-1", "10.1.1.1", 22, profile("huawei"), "admin", timeout=30)
    error = connect_failure(ConnectionRefusedError(111, "refused"), login)
    return Result("sw-1", "a", Status.FAILED, error=error.message())


def test_a_refusal_is_english_in_json_and_said_on_the_lines(
        capsys: pytest.CaptureFixture[str]) -> None:
    failed = refused()
    assert json.loads(json.dumps({"error": failed.error}))["error"] == (
        "sw-1: connection refused by 10.1.1.1:22: nothing listens for SSH there (wrong "
        "address or port, SSH off, or a firewall answering with a reset)")
    unready = [Unready("ap-9", "b", IntentError(
        "%(host)s: no template %(name)r for platform %(platform)s (looked for %(path)s)",
        host="ap-9", name="nac", platform="huawei", path="huawei/nac.j2").message())]
    with catalogs.speaking("zh-Hant", registered()):
        _summary([failed], unready)
    assert capsys.readouterr().out == (
        "  sw-1      失敗            sw-1：10.1.1.1:22 拒絕連線：那裏沒有 SSH 在監聽（位址或埠"
        "有誤、SSH 未開啟，或防火牆以重設回應）\n"
        "  ap-9      未就緒          ap-9：平台 huawei 沒有範本 'nac'（已尋找 huawei/nac.j2）\n"
        "總結：1 失敗, 1 未就緒\n")
    _summary([failed], unready)
    assert capsys.readouterr().out.splitlines()[1] == (
        "  ap-9      not ready       ap-9: no template 'nac' for platform huawei (looked for "
        "huawei/nac.j2)")


def test_a_skipped_device_and_a_missing_template_say_why_in_the_readers_language() -> None:
    results = run([target("d0"), target("d1")],
                  lambda t: Result(t.device.hostname, "a", Status.ROLLED_BACK),
                  Limits(canary=1))
    with pytest.raises(IntentError) as missing:
        Renderer().render(Device("ap-9", "huawei", "ap", "b", "10.0.0.9"), ["nothing"], {})
    with catalogs.speaking("zh-CN", registered()):
        assert catalogs.said(results[1].error) == "未尝试：金丝雀设备失败"
        assert missing.value.said() == (
            "ap-9：平台 huawei 没有模板 'nothing'（查找了 huawei/nothing.j2）")
    assert results[1].error == "not tried: the canary failed"
    assert str(missing.value) == (
        "ap-9: no template 'nothing' for platform huawei (looked for huawei/nothing.j2)")


def test_the_progress_label_is_said_in_the_commands_language(
        capsys: pytest.CaptureFixture[str]) -> None:
    from devices.cli import _progress

    with catalogs.speaking("zh-Hant", registered()), _progress(1, "planning", False) as tick:
        tick(Result("sw-1", "a", Status.PLANNED))
    assert "規劃中" in capsys.readouterr().err
    with _progress(1, "planning", False) as tick:
        tick(Result("sw-1", "a", Status.PLANNED))
    assert "planning" in capsys.readouterr().err
