"""The demo's "what to open and try": labels in the command's language, each text after
the widest label however wide its characters."""

from __future__ import annotations

from citynet import catalogs
from citynet.cli import banner_lines
from citynet.domains import BannerLine, registered
from citynet.listings import width
from citynet.staffcli import demo_admin_line


def test_the_lines_come_in_order_after_the_widest_label() -> None:
    lines = banner_lines([BannerLine(20, "东门", "http://b/"),
                          BannerLine(10, "a portal", "http://a/  (note)")])
    assert lines == ["  a portal http://a/  (note)",
                     "  东门     http://b/"]
    assert width(lines[0].split("http")[0]) == width(lines[1].split("http")[0])


def test_the_staff_line_in_each_language() -> None:
    english = banner_lines([demo_admin_line("http://h:8080", "pw-1")])
    assert english == ["  staff admin web http://h:8080/login  user admin, password pw-1 "
                       "(demo only; the first login asks to enrol an authenticator app)"]
    with catalogs.speaking("zh-Hant", registered()):
        assert banner_lines([demo_admin_line("http://h:8080", "pw-1")]) == [
            "  職員管理後台 http://h:8080/login  用戶名稱 admin，密碼 pw-1（只供示範；首次登入時"
            "會要求登記驗證器應用程式）"]
    with catalogs.speaking("zh-CN", registered()):
        assert banner_lines([demo_admin_line("http://h:8080", None)]) == [
            "  员工管理后台 http://h:8080/login  (citynet staff list; citynet staff "
            "set-password admin)"]
