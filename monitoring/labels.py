"""The dashboard's words in Chinese (the default) and English."""

from __future__ import annotations

import re
from collections.abc import Mapping

from inventory.choices import LABELS_ZH, BuildingType, TargetMetric

TEXT: dict[str, tuple[str, str]] = {  # key → (zh-CN, en)
    "title": ("罗湖区网络建设看板", "District network dashboard"),
    "overview": ("总览", "Overview"),
    "targets": ("建设目标", "Targets"),
    "metric": ("指标", "Metric"),
    "scope": ("范围", "Scope"),
    "target": ("目标", "Target"),
    "current": ("当前", "Now"),
    "trend": ("趋势/月", "Trend / month"),
    "forecast": ("到期预测", "Forecast at deadline"),
    "plan": ("按计划完工", "If planned work is done"),
    "status": ("状态", "Status"),
    "deadline": ("截止日期", "Deadline"),
    "days_left": ("剩余天数", "Days left"),
    "owner": ("责任单位", "Owner"),
    "shortfall": ("缺口", "Shortfall"),
    "map": ("各社区光纤覆盖", "Fiber coverage by community"),
    "map_hint": ("点击圆点查看社区详情。颜色：达到全区目标 / 接近目标（差距5个百分点内）/ 落后。",
                 "Click a dot for the community. Colours: at the district target / within 5 "
                 "points of it / behind."),
    "streets": ("各街道", "Streets"),
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "communities": ("社区", "Communities"),
    "buildings": ("楼宇", "Buildings"),
    "eligible": ("具备条件", "Eligible"),
    "connected": ("已接入", "Connected"),
    "fiber": ("光纤覆盖率", "Fiber coverage"),
    "government": ("政务楼宇覆盖率", "Government buildings"),
    "hotspots": ("热点", "Hotspots"),
    "aps": ("AP", "APs"),
    "ap_availability": ("AP在线率", "AP availability"),
    "login_success": ("登录成功率（24小时）", "Login success (24 h)"),
    "public_area": ("公共区域覆盖（测量）", "Public areas covered (surveyed)"),
    "no_data": ("暂无数据", "no data yet"),
    "export": ("导出CSV", "Export CSV"),
    "report": ("打印报告", "Printable report"),
    "print_hint": ("用浏览器打印（Ctrl+P）或另存为PDF，版式已按A4纸调整。",
                   "Print this page (Ctrl+P) or save it as PDF: it is laid out for paper."),
    "date": ("日期", "Date"),
    "log_out": ("退出", "Log out"),
    "history": ("历史", "History"),
    "band": ("80%预测区间", "80% forecast band"),
    "not_connected": ("未接入光纤的楼宇", "Buildings without fiber"),
    "planned_on": ("计划接入", "Planned"),
    "type": ("类型", "Type"),
    "fiber_status": ("光纤状态", "Fiber status"),
    "name": ("名称", "Name"),
    "address": ("地址", "Address"),
    "all_connected": ("所有具备条件的楼宇均已接入。", "Every eligible building is connected."),
    "reachable": ("在线", "Up"),
    "survey": ("测量覆盖", "Surveyed coverage"),
    "generated": ("生成时间", "Generated"),
    "report_title": ("网络建设目标进展报告", "Network targets: progress report"),
    "demo": ("演示数据", "Demo data"),
    "back": ("返回总览", "Back to overview"),
    "no_targets": ("尚未设定目标：用 `citynet inventory import` 导入 targets。",
                   "No targets yet: import them with `citynet inventory import` (targets)."),
    "method_note": ("光纤历史按各楼宇的接入日期逐月重建；"
                    "预测为近两年趋势的直线外推，阴影为80%区间。",
                    "Fiber history is rebuilt month by month from each building's connection "
                    "date; the forecast extends the last two years' straight-line trend, the "
                    "shaded band is its 80% interval."),
    "csv_kind": ("类别", "Kind"),
    "csv_target_row": ("目标", "Target"),
    "csv_kpi_row": ("指标值", "KPI"),
    "csv_metric": ("指标", "Metric"),
    "csv_scope": ("范围", "Scope"),
    "csv_value": ("当前值", "Value"),
    "csv_numerator": ("分子", "Numerator"),
    "csv_denominator": ("分母", "Denominator"),
    "csv_target": ("目标值", "Target value"),
    "csv_deadline": ("截止日期", "Deadline"),
    "csv_status": ("状态", "Status"),
    "csv_forecast": ("到期预测", "Forecast at deadline"),
    "csv_forecast_low": ("预测下限（80%）", "Forecast low (80%)"),
    "csv_forecast_high": ("预测上限（80%）", "Forecast high (80%)"),
    "csv_shortfall": ("缺口", "Shortfall"),
    "csv_owner": ("责任单位", "Owner"),
    "csv_metric_code": ("指标代码", "metric code"),
    "csv_scope_code": ("范围代码", "scope code"),
    "csv_status_code": ("状态代码", "status code"),
    "no_target": ("未设目标", "no target set"),
    "worst": ("最落后的社区", "Communities furthest behind"),
    "worst_hint": ("按距全区光纤目标的楼宇缺口排序。", "By the buildings they lack to reach the "
                   "district's fiber target."),
    "buildings_short": ("栋楼宇缺口", "buildings short"),
    "at_deadline": ("按计划施工到期仍缺", "Still short at the deadline if work goes to plan"),
    "planned_late": ("栋计划晚于截止日期", "planned after the deadline"),
    "planned_late_hint": ("这些楼宇的光纤计划接入日期晚于其目标的截止日期。",
                          "These buildings' fiber is planned after their target's deadline."),
    "after_deadline": ("晚于截止日期", "after the deadline"),
    "met": ("已达标", "Met"),
    "on_track": ("按期可达", "On track"),
    "at_risk": ("有风险", "At risk"),
    "missed": ("未达标（已过期）", "Missed"),
}

METRICS: dict[TargetMetric, tuple[str, str]] = {
    TargetMetric.FIBER_ELIGIBLE: ("具备条件楼宇光纤覆盖率", "Fiber, eligible buildings"),
    TargetMetric.FIBER_GOVERNMENT: ("政务楼宇光纤覆盖率", "Fiber, government buildings"),
    TargetMetric.HOTSPOTS_PER_COMMUNITY: ("每社区热点数", "Hotspots per community"),
    TargetMetric.PUBLIC_AREA_WIFI: ("公共区域WiFi覆盖率", "Public-area WiFi coverage"),
    TargetMetric.AP_AVAILABILITY: ("AP在线率", "AP availability"),
    TargetMetric.LOGIN_SUCCESS: ("登录成功率", "Login success rate"),
}


TYPES_EN = {
    BuildingType.GOVERNMENT_AGENCY: "government agencies",
    BuildingType.PUBLIC_INSTITUTION: "public institutions",
    BuildingType.COMMUNITY_WORKSTATION: "community workstations",
    BuildingType.COMMERCIAL: "commercial buildings",
    BuildingType.RESIDENTIAL: "residential buildings",
}


def translate(key: str, lang: str) -> str:
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def metric_label(metric: TargetMetric, lang: str) -> str:
    zh, en = METRICS[metric]
    return en if lang == "en" else zh


def scope_label(scope: str, lang: str, english: Mapping[str, str] | None = None) -> str:
    """``street:笋岗`` → 笋岗街道 / Sungang street; building types by their names. English
    pages use the inventory's English names (``english``: by scope), else the Chinese."""
    kind, _, name = scope.partition(":")
    if kind == "district":
        return "the district" if lang == "en" else "全区"
    if kind == "building_type":
        member = BuildingType(name)
        return TYPES_EN[member] if lang == "en" else LABELS_ZH[member]
    if lang != "en":
        return f"{name}街道" if kind == "street" else name
    place = (english or {}).get(scope) or name
    if kind == "street" and not _SAYS_STREET.search(place):
        return f"{place} street"
    return place


_SAYS_STREET = re.compile(r"\b(street|subdistrict)\b", re.IGNORECASE)
