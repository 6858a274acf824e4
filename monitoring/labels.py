"""The dashboard's words made in Python (chart legends, the CSV's columns, statuses, places
and metrics), as gettext msgids in any language asked for: the web's page language, the
CLI's ``--lang``, the API's English. The templates say theirs with ``_()``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from citynet import catalogs
from citynet.catalogs import N_
from inventory.choices import TRANSLATIONS as INVENTORY_TRANSLATIONS
from inventory.choices import BuildingType, TargetMetric

# this domain's catalogs, then the inventory's (the building types' labels)
CATALOGS = (Path(__file__).with_name("translations"), INVENTORY_TRANSLATIONS)

TEXT: dict[str, str] = {  # key → msgid, for words Python names by key
    "target": N_("Target"),
    "deadline": N_("Deadline"),
    "forecast": N_("Forecast at deadline"),
    "map": N_("Fiber coverage by community"),
    "csv_kind": N_("Kind"),
    "csv_target_row": N_("Target"),
    "csv_kpi_row": N_("KPI"),
    "csv_metric": N_("Metric"),
    "csv_scope": N_("Scope"),
    "csv_value": N_("Value"),
    "csv_numerator": N_("Numerator"),
    "csv_denominator": N_("Denominator"),
    "csv_target": N_("Target value"),
    "csv_deadline": N_("Deadline"),
    "csv_status": N_("Status"),
    "csv_forecast": N_("Forecast at deadline"),
    "csv_forecast_low": N_("Forecast low (80%)"),
    "csv_forecast_high": N_("Forecast high (80%)"),
    "csv_shortfall": N_("Shortfall"),
    "csv_owner": N_("Owner"),
    "csv_metric_code": N_("metric code"),
    "csv_scope_code": N_("scope code"),
    "csv_status_code": N_("status code"),
    "met": N_("Met"),
    "on_track": N_("On track"),
    "at_risk": N_("At risk"),
    "missed": N_("Missed"),
}

METRICS: dict[TargetMetric, str] = {
    TargetMetric.FIBER_ELIGIBLE: N_("Fiber, eligible buildings"),
    TargetMetric.FIBER_GOVERNMENT: N_("Fiber, government buildings"),
    TargetMetric.HOTSPOTS_PER_COMMUNITY: N_("Hotspots per community"),
    TargetMetric.PUBLIC_AREA_WIFI: N_("Public-area WiFi coverage"),
    TargetMetric.AP_AVAILABILITY: N_("AP availability"),
    TargetMetric.LOGIN_SUCCESS: N_("Login success rate"),
}

# a building type as a scope: the buildings of that type
TYPES: dict[BuildingType, str] = {
    BuildingType.GOVERNMENT_AGENCY: N_("government agencies"),
    BuildingType.PUBLIC_INSTITUTION: N_("public institutions"),
    BuildingType.COMMUNITY_WORKSTATION: N_("community workstations"),
    BuildingType.COMMERCIAL: N_("commercial buildings"),
    BuildingType.RESIDENTIAL: N_("residential buildings"),
}


def say(msgid: str, lang: str, **values: object) -> str:
    """``msgid`` in ``lang``, the blanks filled."""
    return catalogs.gettext_in(lang, CATALOGS, msgid, **values)


def translate(key: str, lang: str) -> str:
    msgid = TEXT.get(key)
    return key if msgid is None else say(msgid, lang)


def metric_label(metric: TargetMetric, lang: str) -> str:
    return say(METRICS[metric], lang)


def scope_label(scope: str, lang: str, english: Mapping[str, str] | None = None) -> str:
    """``street:笋岗`` → 笋岗街道 / Sungang street; building types by their names. English
    pages use the inventory's English names (``english``: by scope), else the Chinese."""
    kind, _, name = scope.partition(":")
    if kind == "district":
        return say(N_("the district"), lang)
    if kind == "building_type":
        return say(TYPES[BuildingType(name)], lang)
    if lang != "en":
        return say(N_("%(name)s street"), lang, name=name) if kind == "street" else name
    place = (english or {}).get(scope) or name
    if kind == "street" and not _SAYS_STREET.search(place):
        return say(N_("%(name)s street"), lang, name=place)
    return place


_SAYS_STREET = re.compile(r"\b(street|subdistrict)\b", re.IGNORECASE)
