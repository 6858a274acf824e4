"""Intent: the configuration each device should have, rendered from Jinja2 templates per
platform with variables from the inventory and the district's intent file.

Variables, later ones winning: built-in defaults; the intent file's ``defaults``; its
``sites[SITE]``; its ``devices[HOSTNAME]``; then facts from the inventory (hostname, site,
role, platform, and the RADIUS key of the NAS entry whose address is the device's) and
from citynet's config (the RADIUS servers, their ports and the CoA port).
The ``nac`` template (802.1X, MAC bypass, the enterprise SSID) takes its ports from
``dot1x_ports`` and ``mab_ports`` (docs/admission.md, "Switch and AC configuration").
A template's first line may name the config lines it owns — ``{# owned: ntp server;
logging host #}`` — so an NTP server the intent no longer lists is removed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    UndefinedError,
)

from citynet.catalogs import N_
from citynet.config import MAX_RADIUS_SERVERS
from citynet.errors import CitynetError

BUILTIN = ("baseline", "guest_wifi", "nac")
DEFAULTS: dict[str, Any] = {
    "banner": "Authorised access only. 仅限授权人员访问。",
    "ntp_servers": [],
    "syslog_hosts": [],
    "snmp_community": "",
    "guest_vlan": 100,
    "guest_network": "10.100.0.0/22",
    "ssid": "i-Shenzhen",  # the guest SSID; a Portal AC broadcasts it (profile citynet-guest)
    "guest_wlan_id": 1,  # a Huawei AC: the guest VAP profile's WLAN ID in its AP group
    "guest_ap_group": "default",
    "dhcp_server": "10.0.0.53",
    "radius_key": "",
    "portal_url": "http://127.0.0.1:8080/portal/",
    "walled_garden": [],
    # a Portal-protocol AC (Huawei, H3C): filled from its NAS entry (devices.targets)
    "portal_protocol": "",  # huawei-v2, huawei-v1, cmcc-v1; "": a UAM/RADIUS-only NAS
    "portal_key": "",
    "portal_port": 2000,  # where the AC takes the Portal protocol
    "portal_server": "",  # citynet's address for the AC; "": radius_server
    "portal_notify_port": 50100,  # citynet's portal.protocol_port (NTF_LOGOUT)
    "ac_name": "",  # the NAS name, sent as wlanacname
    # where the NASes reach citynet: filled from config radius.* (devices.targets)
    "radius_auth_port": 1812,
    "radius_acct_port": 1813,
    "coa_port": 3799,  # the NAS's dynamic-authorization port citynet sends to
    # --- the nac template: 802.1X and MAC bypass on access ports, the enterprise SSID ---
    "dot1x_ports": [],  # 802.1X, falling back to MAC bypass for a device without supplicant
    "mab_ports": [],  # MAC bypass only (printers, cameras on ports of their own)
    "reauth_seconds": 3600,  # periodic re-authentication (a disabled person's port closes)
    "accounting_interim_minutes": 15,
    "enterprise_ssid": "",  # "": no enterprise SSID on this device
    "enterprise_vlan": 1,  # where a client without a VLAN from RADIUS lands
    "enterprise_wpa": "wpa2",  # wpa2 or wpa3 (WPA3-Enterprise: PMF required)
    "enterprise_wlan_id": 2,
    "enterprise_ap_group": "default",
}
NAC_WPA = ("wpa2", "wpa3")
_PORT = re.compile(r"(?P<kind>\d*[A-Za-z][A-Za-z-]*) ?(?P<slots>(?:\d+[/:])*)(?P<first>\d+)"
                   r"(?:-(?P<last>\d+))?")
_SSID = re.compile(r"[^\s\"']{1,32}")
_GROUP = re.compile(r"[A-Za-z0-9_.-]{1,31}")
MAX_PORTS = 1024
_OWNED = re.compile(r"^\{#\s*owned:(.*?)#\}")


class IntentError(CitynetError):
    """A template or the intent file cannot be used; the message says which and why (a
    msgid and its values: it is also a device's reason in ``--json`` and the record)."""


@dataclass(frozen=True)
class Device:
    """The inventory's facts about one device that templates may use."""

    hostname: str
    platform: str
    role: str
    site: str
    host: str


@dataclass(frozen=True)
class Intent:
    """What one device should have. ``text`` may hold secrets (a RADIUS key): print it
    only through ``confdiff.redact``."""

    hostname: str
    text: str
    owned: tuple[str, ...]
    templates: tuple[str, ...]


def load_vars(path: Path) -> dict[str, Any]:
    """The intent file (YAML with ``defaults``, ``sites``, ``devices``); {} if absent."""
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise IntentError(N_("%(path)s: not valid YAML: %(error)s"), path=path,
                          error=exc) from None
    if not isinstance(document, dict) or not set(document) <= {"defaults", "sites", "devices",
                                                               "templates_dir"}:
        raise IntentError(N_("%(path)s: expected the keys defaults, sites, devices (and "
                             "optionally templates_dir)"), path=path)
    return document


def variables(device: Device, document: Mapping[str, Any], radius_keys: Mapping[str, str],
              portals: Mapping[str, Mapping[str, Any]] | None = None, *,
              radius_servers: Sequence[str] = ("127.0.0.1",)) -> dict[str, Any]:
    """``portals``: NAS address → the Portal-protocol facts of its NAS entry (protocol,
    key, port, name), which win over the intent file: one source of truth with the
    portal. ``radius_servers``: the cluster's (config radius.servers); the intent file may
    set its own list, or one ``radius_server`` as before."""
    values = dict(DEFAULTS, radius_servers=list(radius_servers))
    layers = [document.get("defaults") or {},
              (document.get("sites") or {}).get(device.site) or {},
              (document.get("devices") or {}).get(device.hostname) or {}]
    for layer in layers:
        values.update(layer)
        if "radius_server" in layer and "radius_servers" not in layer:
            values["radius_servers"] = [layer["radius_server"]]
    values["radius_servers"] = _radius_servers(device, values["radius_servers"])
    values["radius_server"] = values["radius_servers"][0]
    values.update(hostname=device.hostname, platform=device.platform, role=device.role,
                  site=device.site, nas_ip=values.get("nas_ip") or device.host)
    if device.host in radius_keys:
        values["radius_key"] = radius_keys[device.host]
    values.update((portals or {}).get(device.host) or {})
    values["portal_server"] = values.get("portal_server") or values["radius_server"]
    values.update(_guest_addressing(values))
    values.update(_nac(device, values))
    values.update(_guest_ssid(device, values))
    return values


def _guest_ssid(device: Device, values: Mapping[str, Any]) -> dict[str, Any]:
    """The guest SSID a Portal AC broadcasts (guest_wifi), checked like the enterprise
    one: its name goes into a CLI command, and one WLAN ID of an AP group carries one
    SSID. Elsewhere the SSID is only a description's word, and is left as it is."""
    ssid, group, wlan = values["ssid"], values["guest_ap_group"], values["guest_wlan_id"]
    if not values.get("portal_protocol"):
        return {}
    if not (isinstance(ssid, str) and _SSID.fullmatch(ssid)):
        raise IntentError(N_("%(host)s: ssid: 1 to 32 characters, no spaces or quotes"),
                          host=device.hostname)
    if not (isinstance(group, str) and _GROUP.fullmatch(group)):
        raise IntentError(N_("%(host)s: guest_ap_group: 1 to 31 of A-Z a-z 0-9 _ . -"),
                          host=device.hostname)
    if isinstance(wlan, bool) or not isinstance(wlan, int) or not 1 <= wlan <= 16:
        raise IntentError(N_("%(host)s: %(name)s: a whole number %(low)s..%(high)s"),
                          host=device.hostname, name="guest_wlan_id", low=1, high=16)
    if values["enterprise_ssid"] and group == values["enterprise_ap_group"] \
            and wlan == values["enterprise_wlan_id"]:
        raise IntentError(N_("%(host)s: guest_wlan_id and enterprise_wlan_id are both "
                             "%(wlan)s in AP group %(group)s (one WLAN ID, one SSID)"),
                          host=device.hostname, wlan=wlan, group=group)
    return {"ssid": ssid, "guest_ap_group": group, "guest_wlan_id": wlan}


def _radius_servers(device: Device, servers: object) -> list[str]:
    """The RADIUS servers a NAS names: addresses, 1 to MAX_RADIUS_SERVERS (every
    template names two: primary and secondary, and CoA clients for both)."""
    if isinstance(servers, str):
        servers = [servers]
    if not isinstance(servers, list) or not 1 <= len(servers) <= MAX_RADIUS_SERVERS:
        raise IntentError(N_("%(host)s: radius_servers: a list of 1 to %(most)s addresses"),
                          host=device.hostname, most=MAX_RADIUS_SERVERS)
    for server in servers:
        try:
            ipaddress.ip_address(str(server))
        except ValueError:
            raise IntentError(N_("%(host)s: radius_servers: %(server)r is not an IP "
                                 "address"), host=device.hostname, server=server) from None
    return [str(server) for server in servers]


def _nac(device: Device, values: Mapping[str, Any]) -> dict[str, Any]:
    """The nac template's variables checked, and its port lists expanded: a port is named
    as the device names it (``GigabitEthernet0/0/5``; RGOS ``GigabitEthernet 0/5``), a
    range by its last number (``GigabitEthernet0/0/1-24``). A port in both lists, or
    twice, is refused: which mode it gets would depend on the template's order."""
    dot1x = _ports(device, "dot1x_ports", values["dot1x_ports"])
    mab = _ports(device, "mab_ports", values["mab_ports"])
    seen: set[str] = set()
    for port in dot1x + mab:
        if port in seen:
            raise IntentError(N_("%(host)s: port %(port)s is named twice in dot1x_ports and "
                                 "mab_ports (each port gets one mode)"),
                              host=device.hostname, port=port)
        seen.add(port)
    checked: dict[str, Any] = {"dot1x_ports": dot1x, "mab_ports": mab}
    for name, low, high in (("reauth_seconds", 60, 7200), ("accounting_interim_minutes", 1, 60),
                            ("enterprise_vlan", 1, 4094), ("enterprise_wlan_id", 1, 16)):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise IntentError(N_("%(host)s: %(name)s: a whole number %(low)s..%(high)s"),
                              host=device.hostname, name=name, low=low, high=high)
        checked[name] = value
    if values["enterprise_wpa"] not in NAC_WPA:
        raise IntentError(N_("%(host)s: enterprise_wpa: one of %(choices)s"),
                          host=device.hostname, choices=", ".join(NAC_WPA))
    ssid = values["enterprise_ssid"]
    if ssid and not (isinstance(ssid, str) and _SSID.fullmatch(ssid)):
        raise IntentError(N_("%(host)s: enterprise_ssid: 1 to 32 characters, no spaces or "
                             "quotes"), host=device.hostname)
    group = values["enterprise_ap_group"]
    if not (isinstance(group, str) and _GROUP.fullmatch(group)):
        raise IntentError(N_("%(host)s: enterprise_ap_group: 1 to 31 of A-Z a-z 0-9 _ . -"),
                          host=device.hostname)
    return checked


def _ports(device: Device, name: str, ports: object) -> list[str]:
    if not isinstance(ports, list):
        raise IntentError(N_("%(host)s: %(name)s: a list of ports"), host=device.hostname,
                          name=name)
    out: list[str] = []
    for port in ports:
        found = _PORT.fullmatch(str(port))
        if found is None:
            raise IntentError(N_("%(host)s: %(name)s: %(port)r is not a port name "
                                 "(GigabitEthernet0/0/5, or a range GigabitEthernet0/0/1-24)"),
                              host=device.hostname, name=name, port=port)
        first, last = int(found["first"]), int(found["last"] or found["first"])
        if last < first:
            raise IntentError(N_("%(host)s: %(name)s: %(port)r: the range runs backwards"),
                              host=device.hostname, name=name, port=port)
        head = str(port)[:found.start("first")]
        out.extend(f"{head}{number}" for number in range(first, last + 1))
        if len(out) > MAX_PORTS:
            raise IntentError(N_("%(host)s: %(name)s: more than %(most)s ports"),
                              host=device.hostname, name=name, most=MAX_PORTS)
    return out


def refuse_cli_keys(device: Device, values: Mapping[str, Any],
                    cli_keys: Sequence[tuple[str, str]]) -> None:
    """Raise if a variable's value holds a character the device's CLI reads as a key
    (``Profile.cli_keys``), naming the variable and the device, never the value (it may
    be a key)."""
    for name, text in _texts(values):
        for key, does in cli_keys:
            if key in text:
                raise IntentError(N_("%(host)s: intent variable %(name)s holds %(key)r, "
                                     "%(does)s on the %(platform)s CLI, which cannot take it "
                                     "in a value: change the value in the intent file (or "
                                     "the inventory)"), host=device.hostname, name=name,
                                  key=key, does=does, platform=device.platform)


def _texts(value: Any, name: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` (nested lists and mappings) with its variable path."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _texts(inner, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _texts(inner, f"{name}[{index}]")
    elif isinstance(value, str):
        yield name, value


def _guest_addressing(values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        network = ipaddress.ip_network(str(values["guest_network"]))
    except ValueError as exc:
        raise IntentError(N_("guest_network: %(error)s"), error=exc) from None
    networks = values.get("guest_networks") or [str(network)]
    return {"guest_gateway": values.get("guest_gateway") or str(next(network.hosts())),
            "guest_netmask": str(network.netmask), "guest_networks": list(networks)}


class _Refused(Exception):
    """A template's own refusal: what it was asked cannot be said on this platform."""


def _refuse(reason: str) -> str:
    """``{{ refuse("why") }}`` in a template: the device gets no intent, and the plan says
    why (a platform without a setting the intent asks for)."""
    raise _Refused(reason)


class Renderer:
    """Templates from the intent file's ``templates_dir`` first, then the built-in ones."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[Any] = [PackageLoader("devices", "templates")]
        if templates_dir is not None:
            loaders.insert(0, FileSystemLoader(str(templates_dir)))
        # keep_trailing_newline: an included block's last line stays a line of its own
        self._env = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                                trim_blocks=True, lstrip_blocks=True, autoescape=False,  # noqa: S701 - device config, not HTML
                                keep_trailing_newline=True)
        self._env.globals["refuse"] = _refuse

    def owned(self, name: str) -> tuple[str, ...]:
        assert self._env.loader is not None  # noqa: S101 - set in __init__
        source, _, _ = self._env.loader.get_source(self._env, name)
        found = _OWNED.match(source.strip())
        if not found:
            return ()
        return tuple(p.strip() for p in found.group(1).split(";") if p.strip())

    def render(self, device: Device, templates: Sequence[str],
               values: Mapping[str, Any]) -> Intent:
        texts: list[str] = []
        owned: list[str] = []
        for name in templates:
            path = f"{device.platform}/{name}.j2"
            try:
                template = self._env.get_template(path)
                texts.append(template.render(**values).strip("\n"))
            except TemplateNotFound:
                raise IntentError(N_("%(host)s: no template %(name)r for platform "
                                     "%(platform)s (looked for %(path)s)"),
                                  host=device.hostname, name=name, platform=device.platform,
                                  path=path) from None
            except _Refused as exc:
                raise IntentError(N_("%(host)s: template %(path)s: %(reason)s"),
                                  host=device.hostname, path=path, reason=exc) from None
            except UndefinedError as exc:
                raise IntentError(N_("%(host)s: template %(path)s: %(error)s (set it in the "
                                     "intent file)"), host=device.hostname, path=path,
                                  error=exc.message) from None
            owned.extend(self.owned(path))
        return Intent(device.hostname, "\n".join(t for t in texts if t) + "\n",
                      tuple(owned), tuple(templates))
