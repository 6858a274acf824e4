"""Enumerations of the inventory, and the labels people read for some of them (gettext
msgids: the catalogs in ``translations/`` give them in each language)."""

from enum import StrEnum
from pathlib import Path

from citynet.catalogs import N_

TRANSLATIONS = Path(__file__).with_name("translations")  # this domain's gettext catalogs


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


# the msgid of each labelled member: the web shows it translated, an import file may give
# it in any of the catalogs' languages (docs/i18n.md)
LABELS: dict[StrEnum, str] = {
    BuildingType.GOVERNMENT_AGENCY: N_("Government agency"),
    BuildingType.PUBLIC_INSTITUTION: N_("Public institution"),
    BuildingType.COMMUNITY_WORKSTATION: N_("Community workstation"),
    BuildingType.COMMERCIAL: N_("Commercial building"),
    BuildingType.RESIDENTIAL: N_("Residential building"),
    FiberStatus.CONNECTED: N_("Fiber connected"),
    FiberStatus.PLANNED: N_("Fiber planned"),
    FiberStatus.UNCONNECTED: N_("Not connected"),
    FiberStatus.NOT_ELIGIBLE: N_("Not eligible for fiber"),
}
