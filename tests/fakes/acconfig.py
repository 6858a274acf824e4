"""A fake AC's portal settings, read from the running configuration of a fake Huawei VRP or
H3C Comware device (tests/fakes/vrp.py) after citynet pushed its guest WiFi intent.

It follows the bindings as the AC does: from the guest SSID's VAP profile (Huawei) or
service template (H3C) to the portal server, its URL and parameters, and the RADIUS
servers of the domain the portal's logins go to. Only what the guest_wifi templates
produce is read, strictly: a setting missing, given twice or in a form the templates do
not write is a ``ConfigError`` naming it, never a default — so an unbound SSID or a
broken chain fails the test that builds the fake AC. Keys are stored encrypted; the
device's own store (``FakeVrp.vault``: stored token → clear value) opens them, as the AC
reads its own keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tests.fakes.vrp import FLAVOURS, Node, parse_config

# Comware has no command for its own Portal port: it listens on 2000
COMWARE_PORTAL_PORT = 2000

# Huawei url-parameter keywords → the redirect roles (docs/portal.md, "The redirect
# parameters"); another keyword is one the fake cannot fill in
_HUAWEI_ROLES = {"ac-ip": "ac_ip", "sysname": "ac_name", "ssid": "ssid",
                 "user-ipaddress": "user_ip", "user-mac": "user_mac", "redirect-url": "url"}
# Comware url-parameter kinds → roles ("value X" is a fixed value)
_COMWARE_ROLES = {"source-address": "user_ip", "source-mac": "user_mac",
                  "original-url": "url", "ssid": "ssid"}


class ConfigError(ValueError):
    """The running configuration lacks a setting the AC's portal needs, or holds one in a
    form the guest_wifi templates do not write."""


@dataclass(frozen=True)
class RedirectParameter:
    """One parameter the AC appends to the portal URL: a role it fills in (``user_ip``,
    ``ac_ip``, ``ac_name``, ``user_mac``, ``url``, ``ssid``) or a fixed ``value``."""

    name: str
    role: str = ""
    value: str = ""


@dataclass(frozen=True)
class PortalSettings:
    """What a Portal AC was told: its address and Portal port, the shared key, where its
    notices go, the redirect, and its RADIUS server (address, auth port, acct port, key)."""

    name: str
    address: str
    port: int
    secret: str
    portal: tuple[str, int]
    url: str
    parameters: tuple[RedirectParameter, ...]
    ssid: str
    radius: tuple[str, int, int, str]


def portal_settings(text: str, vendor: str, secrets: Mapping[str, str]) -> PortalSettings:
    """The portal settings in ``text`` (``display current-configuration`` of a fake
    ``huawei`` or ``h3c`` device); ``secrets``: the device's stored key → clear value."""
    if vendor not in ("huawei", "h3c"):
        raise ConfigError(f"no portal configuration is read for vendor {vendor!r}")
    root = Node("", section=True, children=parse_config(text, FLAVOURS[vendor]))
    reader = _Reader(root, secrets)
    return reader.huawei() if vendor == "huawei" else reader.comware()


class _Reader:
    def __init__(self, root: Node, secrets: Mapping[str, str]) -> None:
        self.root, self.secrets = root, secrets

    # --- Huawei: VAP profile → authentication profile → Portal access profile → server --

    def huawei(self) -> PortalSettings:
        wlan = self.section(self.root, "wlan")
        vap = self.one(wlan, "vap-profile name ", lambda node: self.has(
            node, "authentication-profile "), "a VAP profile with an authentication profile")
        # a VAP profile no AP group takes is on no radio: the AC would never redirect
        bound = f"vap-profile {vap.text[len('vap-profile name '):]} wlan "
        self.one(wlan, "ap-group name ", lambda node: self.has(node, bound),
                 f"an AP group with {bound.strip()!r}")
        profile = self.section(self.root, "authentication-profile name "
                               + self.value(vap, "authentication-profile "))
        access = self.section(self.root, "portal-access-profile name "
                              + self.value(profile, "portal-access-profile "))
        server_name, mode = self.words(self.value(access, "web-auth-server "), 2)
        if mode != "direct":
            raise ConfigError(f"portal-access-profile: web-auth-server … {mode}: not direct")
        server = self.section(self.root, f"web-auth-server {server_name}")
        template = self.section(self.root, "url-template name "
                                + self.value(server, "url-template "))
        ssid = self.value(self.section(wlan, "ssid-profile name "
                                       + self.value(vap, "ssid-profile ")), "ssid ")
        domain_name, force = self.words(self.value(profile, "access-domain "), 2)
        if force != "force":
            raise ConfigError(f"authentication-profile: access-domain … {force}: not force")
        domain = self.section(self.section(self.root, "aaa"), f"domain {domain_name}")
        radius = self.section(self.root, "radius-server template "
                              + self.value(domain, "radius-server "))
        address = self.value(server, "source-ip ")
        self.same_address(address, self.value(radius, "radius-server nas-ip "))
        mode, key = self.words(self.value(server, "shared-key "), 2)
        return PortalSettings(
            name=self.value(self.root, "sysname "), address=address,
            port=self.number(self.value(self.root, "web-auth-server listening-port ")),
            secret=self.secret(mode, key),
            portal=(self.value(server, "server-ip "), self.number(self.value(server, "port "))),
            url=self.value(template, "url "),
            parameters=self.huawei_parameters(self.value(template, "url-parameter ")),
            ssid=ssid, radius=self.huawei_radius(radius))

    def huawei_parameters(self, text: str) -> tuple[RedirectParameter, ...]:
        words = text.split()
        if not words or len(words) % 2:
            raise ConfigError(f"url-parameter {text!r}: not keyword-name pairs")
        pairs = list(zip(words[::2], words[1::2], strict=True))
        unknown = [keyword for keyword, _ in pairs if keyword not in _HUAWEI_ROLES]
        if unknown:
            raise ConfigError(f"url-parameter: the fake AC cannot fill in {unknown}")
        return tuple(RedirectParameter(name, role=_HUAWEI_ROLES[keyword])
                     for keyword, name in pairs)

    def huawei_radius(self, template: Node) -> tuple[str, int, int, str]:
        """The first server (highest weight) for authentication, its accounting port."""
        mode, key = self.words(self.value(template, "radius-server shared-key "), 2)
        weighted: dict[str, dict[str, tuple[int, int]]] = {"authentication": {},
                                                          "accounting": {}}
        for line in self.lines(template, "radius-server authentication ") + self.lines(
                template, "radius-server accounting "):
            kind, rest = line.split(" ", 2)[1:]
            host, port, word, weight = self.words(rest, 4)
            if word != "weight":
                raise ConfigError(f"radius-server {kind} {rest!r}: no weight")
            weighted[kind][host] = (self.number(weight), self.number(port))
        if not weighted["authentication"]:
            raise ConfigError("radius-server template: no authentication server")
        host = max(weighted["authentication"], key=lambda h: weighted["authentication"][h][0])
        if host not in weighted["accounting"]:
            raise ConfigError(f"radius-server template: no accounting on {host}")
        return (host, weighted["authentication"][host][1], weighted["accounting"][host][1],
                self.secret(mode, key))

    # --- H3C: service template → portal web-server, domain → scheme; the portal server --

    def comware(self) -> PortalSettings:
        service = self.one(self.root, "wlan service-template ", lambda node: self.has(
            node, "portal apply web-server "), "a service template applying a portal")
        if "portal enable method direct" not in [child.text for child in service.children]:
            raise ConfigError(f"{service.text}: no portal enable method direct")
        web = self.section(self.root, "portal web-server "
                           + self.value(service, "portal apply web-server "))
        domain = self.section(self.root, "domain " + self.value(service, "portal domain "))
        scheme = self.section(self.root, "radius scheme " + self.value(
            domain, "authentication portal radius-scheme "))
        server = self.one(self.root, "portal server ", lambda node: True, "a portal server")
        server_ip, word, mode, key = self.words(self.value(server, "ip "), 4)
        if word != "key":
            raise ConfigError(f"{server.text}: ip {server_ip} without a key")
        address = self.value(service, "portal bas-ip ")
        self.same_address(address, self.value(scheme, "nas-ip "))
        auth_host, auth_port, auth_key = self.comware_server(scheme, "primary authentication ")
        acct_host, acct_port, _ = self.comware_server(scheme, "primary accounting ")
        if acct_host != auth_host:
            raise ConfigError(f"radius scheme: accounting on {acct_host}, not {auth_host}")
        return PortalSettings(
            name=self.value(self.root, "sysname "), address=address, port=COMWARE_PORTAL_PORT,
            secret=self.secret(mode, key),
            portal=(server_ip, self.number(self.value(server, "port "))),
            url=self.value(web, "url "),
            parameters=tuple(self.comware_parameter(line)
                             for line in self.lines(web, "url-parameter ")),
            ssid=self.value(service, "ssid "), radius=(auth_host, auth_port, acct_port, auth_key))

    def comware_server(self, scheme: Node, prefix: str) -> tuple[str, int, str]:
        host, port, word, mode, key = self.words(self.value(scheme, prefix), 5)
        if word != "key":
            raise ConfigError(f"radius scheme: {prefix}{host} {port} without a key")
        return host, self.number(port), self.secret(mode, key)

    def comware_parameter(self, line: str) -> RedirectParameter:
        words = line.split()[1:]
        if len(words) == 3 and words[1] == "value":
            return RedirectParameter(words[0], value=words[2])
        if len(words) == 2 and words[1] in _COMWARE_ROLES:
            return RedirectParameter(words[0], role=_COMWARE_ROLES[words[1]])
        raise ConfigError(f"{line!r}: the fake AC cannot fill it in")

    # --- reading the tree ------------------------------------------------------------

    def section(self, parent: Node, header: str) -> Node:
        found = [child for child in parent.children if child.text == header]
        if len(found) != 1:
            raise ConfigError(f"no section {header!r}" if not found else f"{header!r} twice")
        return found[0]

    def one(self, parent: Node, prefix: str, fits: Callable[[Node], bool], what: str) -> Node:
        found = [child for child in parent.children
                 if child.text.startswith(prefix) and fits(child)]
        if len(found) != 1:
            raise ConfigError(f"{len(found)} of {what} (one is read)")
        return found[0]

    def lines(self, parent: Node, prefix: str) -> list[str]:
        return [child.text for child in parent.children
                if not child.section and child.text.startswith(prefix)]

    def has(self, parent: Node, prefix: str) -> bool:
        return bool(self.lines(parent, prefix))

    def value(self, parent: Node, prefix: str) -> str:
        found = self.lines(parent, prefix)
        where = parent.text or "the system view"
        if len(found) != 1:
            raise ConfigError(f"{where}: {len(found)} lines {prefix.strip()!r} (one is read)")
        return found[0][len(prefix):]

    def words(self, text: str, count: int) -> list[str]:
        words = text.split()
        if len(words) != count:
            raise ConfigError(f"{text!r}: {count} words expected")
        return words

    def number(self, text: str) -> int:
        if not text.isdigit():
            raise ConfigError(f"{text!r} is not a port number")
        return int(text)

    def secret(self, mode: str, stored: str) -> str:
        """A key as the device stored it (never a clear one: it encrypts what it takes)."""
        if mode != "cipher" or stored not in self.secrets:
            raise ConfigError(f"a key stored as {mode!r} that the device's store cannot open")
        return self.secrets[stored]

    def same_address(self, portal: str, radius: str) -> None:
        if portal != radius:
            raise ConfigError(f"the portal's source {portal} and RADIUS's nas-ip {radius} "
                              "differ (the fake AC has one address)")
