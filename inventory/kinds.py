"""What each inventory kind's rows look like: fields, how a value is parsed, what it refers to.

Pure: parsers take a raw value (a CSV cell or a YAML scalar/list) and return the typed
value or raise :class:`FieldError` with a reason a person can act on. The importer and the
exporter are generic over these specs; a field's name is the model attribute it maps to
(``secret`` fields map to ``<name>_sealed``, ``ref`` fields to a relationship).

Over 400 lines on purpose: the kinds are tables of fields, kept with the parsers they
name so that one module says what an inventory row may hold.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from citynet import catalogs, languages
from citynet.catalogs import N_
from citynet.crypto import EXPORT_PREFIX
from citynet.db import Base
from inventory.choices import (
    LABELS,
    TRANSLATIONS,
    BuildingType,
    DeviceRole,
    FiberStatus,
    NasVendor,
    Platform,
    ScopeKind,
    TargetMetric,
)
from inventory.models import (
    AccessPoint,
    Building,
    Community,
    CoverageTarget,
    Credential,
    Hotspot,
    NasClient,
    NetworkDevice,
    Street,
)

LIST_SEPARATOR = ";"


class FieldError(ValueError):
    """A value that cannot be accepted: the reason a person can act on, as a gettext msgid
    (English) whose ``%(name)s`` blanks ``values`` fill; ``str()`` is it in English."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(msgid % values if values else msgid)
        self.msgid, self.values = msgid, values


# a reason a cross-field check gives: (field, msgid, values)
Refusal = tuple[str, str, dict[str, object]]


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    name: str
    parse: Parser
    required: bool = False
    default: Any = None
    ref: str | None = None  # the kind whose key(s) this value names
    many: bool = False  # a list (CSV: separated by ";")
    secret: bool = False  # sealed at rest, exported sealed


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[Base]
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    unique: tuple[str, ...] = ()  # other fields unique across the kind
    # unique IP/CIDR fields whose networks no two records may share an address of
    disjoint: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], list[Refusal]] = field(
        default=lambda values: []
    )
    scope_refs: Callable[[dict[str, Any]], list[tuple[str, str, str]]] = field(
        default=lambda values: []
    )  # (field, kind, key) references computed from values, beyond plain ref fields
    scope_kinds: tuple[str, ...] = ()  # the kinds scope_refs may name
    # Columns a row may give that say how to take it, not stored nor exported (nas:
    # allow_short_secret); parsed like fields, for ``check``.
    options: tuple[Field, ...] = ()

    @property
    def accepted(self) -> list[str]:
        """The columns an import file (or a form) may give."""
        return self.columns + [f.name for f in self.options]

    @property
    def refers_to(self) -> set[str]:
        return {f.ref for f in self.fields if f.ref} | set(self.scope_kinds)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def key_of(self, values: dict[str, Any]) -> str:
        return "|".join(str(values[name]) for name in self.key)


# --- parsers ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(max_len: int, *, key: bool = False) -> Parser:
    def parse(raw: Any) -> str:
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise FieldError(N_("expected text, got %(type)s"), type=type(raw).__name__)
        value = str(raw).strip()
        if len(value) > max_len:
            raise FieldError(N_("longer than %(most)s characters"), most=max_len)
        if _CONTROL.search(value):
            raise FieldError(N_("contains a control character"))
        if key and LIST_SEPARATOR in value:
            raise FieldError(N_("must not contain %(separator)r (it separates list items)"),
                             separator=LIST_SEPARATOR)
        return value

    return parse


def choice(kind: type[StrEnum]) -> Parser:
    """A member by its value or by its label in any language of the catalogs, as the web
    forms show it (``政府机关``, ``政府機關`` and ``Government agency`` are
    ``government_agency``)."""

    def parse(raw: Any) -> StrEnum:
        value = str(raw).strip()
        try:
            return _by_label(kind).get(value.casefold()) or kind(value.lower())
        except ValueError:
            raise FieldError(N_("%(raw)r is not one of: %(allowed)s"), raw=raw,
                             allowed=_allowed(kind)) from None

    return parse


def label_in(lang: str, member: StrEnum) -> str:
    """A member's label (the catalogs' translation of its msgid in ``LABELS``) in ``lang``,
    without a page: what an import file may give for it."""
    return catalogs.gettext_in(lang, [TRANSLATIONS], LABELS[member])


def _by_label(kind: type[StrEnum]) -> dict[str, StrEnum]:
    return {label_in(lang, member).casefold(): member for member in kind if member in LABELS
            for lang in languages.LOCALES}


def _allowed(kind: type[StrEnum]) -> str:
    """The values, each with the Simplified label the docs give for it."""
    return ", ".join(f"{member.value} ({label_in(languages.SIMPLIFIED, member)})"
                     if member in LABELS else member.value for member in kind)


def one_of(*allowed: str) -> Parser:
    def parse(raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in allowed:
            raise FieldError(N_("%(raw)r is not one of: %(allowed)s"), raw=raw,
                             allowed=", ".join(allowed))
        return value

    return parse


def iso_date(raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise FieldError(N_("%(raw)r is not a date (YYYY-MM-DD)"), raw=raw) from None


def number(lo: float, hi: float) -> Parser:
    def parse(raw: Any) -> float:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise FieldError(N_("%(raw)r is not a number"), raw=raw) from None
        if not lo <= value <= hi:
            raise FieldError(N_("%(value)g is outside %(lo)g..%(hi)g"), value=value, lo=lo, hi=hi)
        return value

    return parse


def integer(lo: int, hi: int) -> Parser:
    def parse(raw: Any) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise FieldError(N_("%(raw)r is not a whole number"), raw=raw) from None
        if not lo <= value <= hi:
            raise FieldError(N_("%(value)s is outside %(lo)s..%(hi)s"), value=value, lo=lo, hi=hi)
        return value

    return parse


def ip_or_cidr(raw: Any) -> str:
    value = str(raw).strip()
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(value, strict=False)
            raise FieldError(N_("%(value)r has host bits set; did you mean %(network)s?"),
                             value=value, network=str(loose)) from None
        raise FieldError(N_("%(value)r is not an IP address or CIDR network"),
                         value=value) from None
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


_MAC_DIGITS = re.compile(r"[0-9a-f]{12}")


def mac_address(raw: Any) -> str:
    """Accepts aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff (Cisco) and
    aabb-ccdd-eeff (Huawei/H3C); stores lower-case colon form."""
    value = str(raw).strip().lower()
    digits = re.sub(r"[:.\-]", "", value)
    if not _MAC_DIGITS.fullmatch(digits):
        raise FieldError(N_("%(raw)r is not a MAC address"), raw=raw)
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


_HOSTNAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*", re.I)


def host(raw: Any) -> str:
    value = str(raw).strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise FieldError(N_("%(value)r is neither an IP address nor a host name"), value=value)
    return value


def http_url(raw: Any) -> str:
    value = str(raw).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 512:
        raise FieldError(N_("%(value)r is not an http(s) URL"), value=value)
    return value


def ssid(raw: Any) -> str:
    value = str(raw)
    if not 1 <= len(value.encode()) <= 32:
        raise FieldError(N_("SSID %(value)r must be 1..32 bytes"), value=value)
    return value


def secret(raw: Any) -> str:
    """A secret as given (never echoed in a reason). No control characters: a NAS
    secret is rendered into device configuration, where a line break would end the
    command and run the rest of the secret as a command of its own."""
    value = str(raw)
    if not value.strip():
        raise FieldError(N_("must not be empty"))
    if len(value) > 400:
        raise FieldError(N_("longer than %(most)s characters"), most=400)
    if _CONTROL.search(value):
        raise FieldError(N_("contains a control character (a line break, tab or the like), "
                            "which a device's CLI would read as a key, not as text"))
    return value


def flag(raw: Any) -> bool:
    """yes/no: true, yes, 1, 是 or false, no, 0, 否 (any case)."""
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("true", "yes", "1", "是"):
        return True
    if value in ("false", "no", "0", "否", ""):
        return False
    raise FieldError(N_("%(raw)r is not yes or no (true/false, 1/0)"), raw=raw)


def scope(raw: Any) -> str:
    """``district``, ``street:NAME``, ``community:NAME`` or ``building_type:TYPE``."""
    value = str(raw).strip()
    kind_text, _, ref = value.partition(":")
    try:
        kind = ScopeKind(kind_text.strip().lower())
    except ValueError:
        raise FieldError(N_("%(value)r is not a scope: district, street:NAME, community:NAME "
                            "or building_type:TYPE"), value=value) from None
    ref = ref.strip()
    if kind is ScopeKind.DISTRICT:
        if ref:
            raise FieldError(N_("the district scope takes no name"))
        return kind.value
    if not ref:
        raise FieldError(N_("scope %(scope)s needs a name: %(scope)s:NAME"), scope=kind.value)
    if kind is ScopeKind.BUILDING_TYPE:
        ref = choice(BuildingType)(ref).value
    return f"{kind.value}:{ref}"


def listed(parse: Parser) -> Parser:
    """A list: a YAML list, or a CSV cell with items separated by ';'."""

    def parse_list(raw: Any) -> list[Any]:
        items = raw if isinstance(raw, list) else str(raw).split(LIST_SEPARATOR)
        values = [parse(item) for item in items if str(item).strip()]
        if len(set(values)) != len(values):
            raise FieldError(N_("lists the same item twice"))
        return values

    return parse_list


# --- cross-field checks -------------------------------------------------------------

def _building_check(values: dict[str, Any]) -> list[Refusal]:
    problems: list[Refusal] = []
    status = values.get("fiber_status")
    if status is FiberStatus.CONNECTED and values.get("fiber_connected_on") is None:
        problems.append(("fiber_connected_on", N_("required when fiber_status is connected"),
                         {}))
    if status is FiberStatus.PLANNED and values.get("fiber_planned_on") is None:
        problems.append(("fiber_planned_on", N_("required when fiber_status is planned"), {}))
    if status is not FiberStatus.CONNECTED and values.get("fiber_connected_on") is not None:
        problems.append(("fiber_connected_on", N_("given but fiber_status is %(status)s"),
                         {"status": str(status)}))
    problems.extend(_lat_lon_check(values))
    return problems


def _lat_lon_check(values: dict[str, Any]) -> list[Refusal]:
    if (values.get("lat") is None) != (values.get("lon") is None):
        return [("lat" if values.get("lat") is None else "lon",
                 N_("give lat and lon together"), {})]
    return []


PERCENT_METRICS = frozenset(TargetMetric) - {TargetMetric.HOTSPOTS_PER_COMMUNITY}


# RFC 2865 section 3 asks for a shared secret of at least 16 octets
MIN_NAS_SECRET = 16


# what an AC's redirect parameters name (portal/achandoff.py), renamed per NAS as
# "role=name,role=name" when the AC's url-template / url-parameter names them otherwise
REDIRECT_ROLES = ("user_ip", "ac_ip", "ac_name", "user_mac", "url", "ssid")
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def redirect_names(raw: Any) -> str:
    """``user_ip=ip,ac_ip=acip``: each role once, names of letters, digits, ``_.-``."""
    pairs = [part.strip() for part in str(raw).split(",") if part.strip()]
    seen: dict[str, str] = {}
    for pair in pairs:
        role, sep, name = (p.strip() for p in pair.partition("="))
        if not sep or role not in REDIRECT_ROLES or not _PARAMETER_NAME.fullmatch(name):
            raise FieldError(N_("%(pair)r: give role=name pairs, roles from %(roles)s"),
                             pair=pair, roles=", ".join(REDIRECT_ROLES))
        if role in seen:
            raise FieldError(N_("%(role)s named twice"), role=role)
        seen[role] = name
    return ",".join(f"{role}={name}" for role, name in seen.items())


# the Portal protocol dialects of Huawei/H3C/Ruijie ACs (portal/acportal.py)
PORTAL_PROTOCOLS = ("huawei-v2", "huawei-v1", "cmcc-v1")
DEFAULT_PORTAL_PORT = 2000  # where Huawei, H3C and Ruijie ACs listen for it by default


def _nas_check(values: dict[str, Any]) -> list[Refusal]:
    """A NAS secret given in clear is at least MIN_NAS_SECRET characters unless the row
    allows a short one; a sealed one (an export's) was checked when it was set."""
    given = values.get("secret")
    if (isinstance(given, str) and not given.startswith(EXPORT_PREFIX)
            and len(given) < MIN_NAS_SECRET and not values.get("allow_short_secret")):
        return [("secret", N_("shorter than %(least)s characters. The shared secret hides "
                 "User-Password and signs every RADIUS packet; a short one is guessed offline "
                 "from one captured request (RFC 2865 section 3 asks for at least %(least)s). "
                 "Use a longer one (e.g. `openssl rand -base64 24`), or, for gear that cannot "
                 "take one, allow it explicitly: allow_short_secret=yes in an import file, the "
                 "editor's 'allow a short secret' box, or --allow-short-secret"),
                 {"least": MIN_NAS_SECRET})]
    return _portal_check(values)


def _portal_check(values: dict[str, Any]) -> list[Refusal]:
    """Portal 2.0 signs every datagram with the portal secret: it needs one."""
    if values.get("portal_protocol") == "huawei-v2" and not values.get("portal_secret"):
        return [("portal_secret", N_("huawei-v2 signs every datagram with a shared key: give "
                 "the key configured on the AC (shared-key / key)"), {})]
    if values.get("portal_protocol") is None and (values.get("portal_port") is not None
                                                   or values.get("portal_secret")
                                                   or values.get("portal_parameters")):
        return [("portal_protocol", N_("a portal port, key or parameters without a portal "
                 "protocol: name the protocol the AC speaks (huawei-v2, huawei-v1 or cmcc-v1)"),
                 {})]
    return []


def _target_check(values: dict[str, Any]) -> list[Refusal]:
    if values.get("metric") in PERCENT_METRICS and not 0 <= values.get("target", 0) <= 100:
        return [("target", N_("a percentage metric takes a target from 0 to 100"), {})]
    return []


def _target_refs(values: dict[str, Any]) -> list[tuple[str, str, str]]:
    kind, _, ref = str(values.get("scope", "")).partition(":")
    plural = {"street": "streets", "community": "communities"}.get(kind)
    return [("scope", plural, ref)] if plural else []


# --- the kinds, in dependency order -------------------------------------------------

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("streets", Street, ("name",), (
        Field("name", text(64, key=True), required=True),
        Field("name_en", text(128), default=""),
    )),
    Kind("communities", Community, ("name",), (
        Field("name", text(64, key=True), required=True),
        Field("name_en", text(128), default=""),
        Field("street", text(64), required=True, ref="streets"),
    )),
    Kind("buildings", Building, ("code",), (
        Field("code", text(64, key=True), required=True),
        Field("name", text(128), required=True),
        Field("address", text(256), default=""),
        Field("type", choice(BuildingType), required=True),
        Field("community", text(64), required=True, ref="communities"),
        Field("fiber_status", choice(FiberStatus), required=True),
        Field("fiber_planned_on", iso_date),
        Field("fiber_connected_on", iso_date),
        Field("lat", number(-90, 90)),
        Field("lon", number(-180, 180)),
    ), check=_building_check),
    Kind("hotspots", Hotspot, ("name",), (
        Field("name", text(128, key=True), required=True),
        Field("community", text(64), required=True, ref="communities"),
        Field("location", text(256), default=""),
        Field("lat", number(-90, 90)),
        Field("lon", number(-180, 180)),
        Field("ssids", listed(ssid), default=[], many=True),
    ), check=_lat_lon_check),
    Kind("access_points", AccessPoint, ("mac",), (
        Field("mac", mac_address, required=True),
        Field("name", text(128), default=""),
        Field("model", text(64), default=""),
        Field("hotspot", text(128), required=True, ref="hotspots"),
        Field("address", host, default=""),
    )),
    Kind("credentials", Credential, ("name",), (
        Field("name", text(64, key=True), required=True),
        Field("username", text(64), required=True),
        Field("password", secret, required=True, secret=True),
        Field("enable_secret", secret, secret=True),
    )),
    Kind("nas", NasClient, ("name",), (
        Field("name", text(64, key=True), required=True),
        Field("address", ip_or_cidr, required=True),
        Field("secret", secret, required=True, secret=True),
        Field("vendor", choice(NasVendor), default=NasVendor.OTHER),
        Field("policy", text(64), default="default"),
        Field("hotspots", listed(text(128)), default=[], ref="hotspots", many=True),
        Field("message_authenticator", one_of("require", "off"), default="require"),
        Field("uam_secret", secret, secret=True),
        Field("portal_login_url", http_url),
        Field("portal_protocol", one_of(*PORTAL_PROTOCOLS)),
        Field("portal_port", integer(1, 65535)),
        Field("portal_secret", secret, secret=True),
        Field("portal_parameters", redirect_names),
    ), unique=("address",), disjoint=("address",),  # a datagram names one NAS
        check=_nas_check, options=(Field("allow_short_secret", flag, default=False),)),
    Kind("devices", NetworkDevice, ("hostname",), (
        Field("hostname", text(64, key=True), required=True),
        Field("host", host, required=True),
        Field("port", integer(1, 65535), default=22),
        Field("platform", choice(Platform), required=True),
        Field("role", choice(DeviceRole), required=True),
        Field("site", text(128), default=""),
        Field("credential", text(64), ref="credentials"),
    )),
    Kind("targets", CoverageTarget, ("metric", "scope"), (
        Field("metric", choice(TargetMetric), required=True),
        Field("scope", scope, required=True),
        Field("target", number(0, 1_000_000), required=True),
        Field("deadline", iso_date, required=True),
        Field("owner", text(128), required=True),
        Field("owner_en", text(128), default=""),
    ), check=_target_check, scope_refs=_target_refs, scope_kinds=("streets", "communities")),
)}

# What a file named after a kind may be called (``nas_clients.csv`` → nas).
KIND_ALIASES = {
    "nas_clients": "nas",
    "network_devices": "devices",
    "coverage_targets": "targets",
    "aps": "access_points",
}


def kind_named(name: str) -> Kind | None:
    name = name.strip().lower().replace("-", "_")
    return KINDS.get(KIND_ALIASES.get(name, name))
