"""Enumerations of the inventory, as (value, English label, Chinese label)."""

from enum import StrEnum


class BuildingType(StrEnum):
    GOVERNMENT_AGENCY = "government_agency"
    PUBLIC_INSTITUTION = "public_institution"
    COMMUNITY_WORKSTATION = "community_workstation"
    COMMERCIAL = "commercial"
    RESIDENTIAL = "residential"


# The plan's second fiber target covers these three (100% by the deadline).
GOVERNMENT_TYPES = frozenset({
    BuildingType.GOVERNMENT_AGENCY,
    BuildingType.PUBLIC_INSTITUTION,
    BuildingType.COMMUNITY_WORKSTATION,
})


class FiberStatus(StrEnum):
    CONNECTED = "connected"
    PLANNED = "planned"
    # Eligible but with no work order yet: counts against coverage like "planned" does.
    UNCONNECTED = "unconnected"
    NOT_ELIGIBLE = "not_eligible"


class NasVendor(StrEnum):
    COOVACHILLI = "coovachilli"
    HUAWEI = "huawei"
    H3C = "h3c"
    RUIJIE = "ruijie"
    CISCO = "cisco"
    MIKROTIK = "mikrotik"
    OTHER = "other"


class Platform(StrEnum):
    """netmiko device_type names."""

    CISCO_IOS = "cisco_ios"
    HUAWEI = "huawei"
    HP_COMWARE = "hp_comware"
    RUIJIE_OS = "ruijie_os"
    LINUX = "linux"
    FRR = "frr"  # FRRouting's vtysh (a Cisco-like CLI) over SSH


class DeviceRole(StrEnum):
    ACCESS_SWITCH = "access_switch"
    AGGREGATION_SWITCH = "aggregation_switch"
    ROUTER = "router"
    WIFI_CONTROLLER = "wifi_controller"


class TargetMetric(StrEnum):
    FIBER_ELIGIBLE = "fiber_coverage_eligible"
    FIBER_GOVERNMENT = "fiber_coverage_government"
    HOTSPOTS_PER_COMMUNITY = "hotspots_per_community"
    PUBLIC_AREA_WIFI = "public_area_wifi_coverage"
    AP_AVAILABILITY = "ap_availability"
    LOGIN_SUCCESS = "login_success_rate"


class ScopeKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    BUILDING_TYPE = "building_type"


LABELS_ZH = {
    BuildingType.GOVERNMENT_AGENCY: "政府机关",
    BuildingType.PUBLIC_INSTITUTION: "事业单位",
    BuildingType.COMMUNITY_WORKSTATION: "社区工作站",
    BuildingType.COMMERCIAL: "商业楼宇",
    BuildingType.RESIDENTIAL: "住宅",
    FiberStatus.CONNECTED: "已通光纤",
    FiberStatus.PLANNED: "已规划",
    FiberStatus.UNCONNECTED: "未接入",
    FiberStatus.NOT_ELIGIBLE: "不具备条件",
}
