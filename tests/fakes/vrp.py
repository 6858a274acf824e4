"""A stateful fake Huawei VRP / H3C Comware switch behind a real SSH server (paramiko).

No VRP or Comware image runs here, so this models what netmiko's ``huawei`` and
``hp_comware`` drivers meet on a real box, from public session transcripts (VRP5 S-series
and AC, Comware 7):

- Views: user view ``<HOST>``; ``system-view`` enters ``[HOST]``; section commands enter
  sub-views named as the device names them (``[HOST-Vlanif10]``, ``[HOST-aaa]``,
  ``[HOST-radius-citynet]``, ``[HOST-ui-vty0-4]``; H3C ``[HOST-Vlan-interface10]``,
  ``[HOST-line-vty0-63]``, ``[HOST-isp-citynet]``). A section command given in a sub-view
  first climbs to the view that owns it, as both families allow. ``quit`` goes up one view
  and logs out from user view; ``return`` goes to user view.
- The running configuration is a tree rendered like ``display current-configuration``:
  a version header, ``#`` between top-level blocks, top-level single commands indented one
  space, section children one space per level, ``return`` at the end.
- Commands whose first word is in the flavour's list are stored in the current view
  (single-valued ones such as ``description`` or ``ip address`` replace the old value);
  anything else gets the device's caret reply (``Error: Unrecognized command found at '^'
  position.``, H3C `` % Unrecognized command ...``). ``undo X`` removes line X, or every
  line that starts with X's words (``undo description``), or the section X; undoing
  something absent is accepted silently. ``vlan batch`` (VRP) merges and splits ranges.
- Secrets are stored as the device stores them: VRP ``cipher X`` becomes
  ``cipher %^%#...%^%#`` (``irreversible-cipher`` ``$1a$...$``), Comware ``simple X``
  becomes ``cipher $c$3$...`` (``password hash $h$6$...``); each entry re-encrypts, so the
  same key typed twice gives different text (the "cipher churn" backups must normalise).
- ``save``: VRP asks ``Are you sure to continue?[Y/N]``; Comware asks Y/N, then the file
  name, then whether to overwrite; ``save force`` (Comware) asks nothing. Anything but
  y/Y cancels. ``reboot()`` reloads the saved configuration, dropping unsaved changes.

Fault knobs (attributes, changeable while running): ``kex_delay`` (seconds before the SSH
identification string: a slow key exchange), ``max_sessions`` (VTY lines: a connection
beyond it is accepted and closed before the SSH banner, so clients fail reading it),
``drop_after_commands`` (one-shot: the session that receives one more configuration-view
command than this is closed without running it), ``fail_on`` (regex: a matching command is
refused with ``fail_reply`` and not applied).

Some command families are checked word by word against the forms the device takes
(``Flavour.grammar``: the 802.1X, MAC authentication and enterprise-SSID lines of the nac
template; guest_wifi's Portal-AC lines — Huawei's URL template, web-auth server, free
rules, access and authentication profiles, guest VAP profile; Comware's portal servers,
free rules and a service template's portal): a command outside its view is unrecognised,
a wrong keyword or a number out of range is a ``Wrong parameter``, a missing word
``Incomplete command``, an extra one ``Too many parameters`` — each with the caret where
the device puts it. Other commands are accepted by their first word only. A line binding
a profile, server or domain by name is refused while that does not exist
(``Flavour.references``), as the command references say; deleting one still in use is
not refused (not modelled).

Read-only state displays (``display interface brief``, ``display cpu-usage``; VRP also
``display ap all``) print the interfaces of the configuration (and ``NULL0``): up, or
administratively down when the interface holds ``shutdown``; error counters stay 0. The
CPU load is the attribute ``cpu_percent``; VRP's APs are ``aps``, (name, state) pairs.

Not modelled: abbreviations (``dis cur``), ``?`` help, paging, line wrapping, VRPv8
two-stage commit, the first-save file-name question some VRP routers ask, and system-view
commands typed in a sub-view (they are stored in the sub-view).
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paramiko

Dialogue = Generator[str, str, str]  # yields a question, receives the answer, returns the rest


class _CliError(Exception):
    """A command the device refuses: a caret reply (``column`` set) or a plain message."""

    def __init__(self, text: str, column: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.column = column


@dataclass(frozen=True)
class SectionRule:
    """A command that opens a view: its canonical form, prompt suffix and owning view."""

    pattern: re.Pattern[str]
    prompt: Callable[[tuple[str, ...]], str]
    canonical: Callable[[tuple[str, ...]], str] | None = None
    parent: re.Pattern[str] | None = None  # None: system view

    def header(self, match: re.Match[str]) -> str:
        return self.canonical(match.groups()) if self.canonical else match.group(0)


def _rule(pattern: str, prompt: Callable[[tuple[str, ...]], str], *,
          canonical: Callable[[tuple[str, ...]], str] | None = None,
          parent: str | None = None) -> SectionRule:
    return SectionRule(re.compile(pattern), prompt, canonical,
                       re.compile(parent) if parent else None)


@dataclass
class Node:
    """One configuration line; a section when it opens a view or has children."""

    text: str
    section: bool = False
    children: list[Node] = field(default_factory=list)

    def copy(self) -> Node:
        return Node(self.text, self.section, [child.copy() for child in self.children])


@dataclass(frozen=True)
class Form:
    """One command form the device takes in the views whose header matches ``view`` (""
    is the system view). Words: a keyword, ``<1-60>`` (a number in range), ``<name>`` (a
    profile or domain name), ``<ip>``, ``<text>`` (any word), ``a|<1-3>`` (any of these);
    last, ``<pairs:a|b>`` takes the rest of the line as keyword–value pairs, each keyword
    once (Huawei's ``url-parameter``)."""

    view: re.Pattern[str]
    words: tuple[str, ...]


def _forms(*forms: tuple[str, str]) -> tuple[Form, ...]:
    return tuple(Form(re.compile(view), tuple(words.split())) for view, words in forms)


_NAME_CHARS = re.compile(r"[^/\\:*?\"<>|@'%]{1,31}")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)")


def _word_fits(pattern: str, word: str) -> bool:
    if "|" in pattern and not pattern.startswith("<pairs:"):
        return any(_word_fits(choice, word) for choice in pattern.split("|"))
    ranged = re.fullmatch(r"<(\d+)-(\d+)>", pattern)
    if ranged:
        return word.isdigit() and int(ranged[1]) <= int(word) <= int(ranged[2])
    if pattern == "<name>":
        return bool(_NAME_CHARS.fullmatch(word)) and word not in ("-", "--")
    if pattern == "<ip>":
        return bool(_IPV4.fullmatch(word))
    if pattern == "<text>":
        return True
    return word in pattern.split("|")


def _form_error(form: Form, words: list[str]) -> tuple[int, str] | None:
    """None if ``words`` are this form; else (index of the word the device points at, its
    message); an index of len(words) means the end of the line."""
    for index, pattern in enumerate(form.words):
        if index == len(words):
            return index, "Incomplete command"
        if pattern.startswith("<pairs:"):
            return _pairs_error(pattern[len("<pairs:"):-1].split("|"), words, index)
        if not _word_fits(pattern, words[index]):
            return index, "Wrong parameter"
    if len(words) > len(form.words):
        return len(form.words), "Too many parameters"
    return None


def _pairs_error(keywords: list[str], words: list[str], start: int) -> tuple[int, str] | None:
    """Keyword–value pairs from ``start`` on: known keywords, each once, each with a value
    of 1 to 16 characters (the parameter names Huawei's url-parameter takes)."""
    seen: set[str] = set()
    for index in range(start, len(words), 2):
        if words[index] not in keywords or words[index] in seen:
            return index, "Wrong parameter"
        seen.add(words[index])
        if index + 1 == len(words):
            return index + 1, "Incomplete command"
        if len(words[index + 1]) > 16:
            return index + 1, "Wrong parameter"
    return None


@dataclass(frozen=True)
class Reference:
    """A line in views matching ``view`` that names another section (group 1 of
    ``line``), which must exist (``target`` formatted with the name), as the device says
    in its command reference ("the value must be an existing ... name")."""

    view: re.Pattern[str]
    line: re.Pattern[str]
    target: str
    refusal: str


def _references(*refs: tuple[str, str, str, str]) -> tuple[Reference, ...]:
    return tuple(Reference(re.compile(view), re.compile(line), target, refusal)
                 for view, line, target, refusal in refs)


def _column(line: str, index: int) -> int:
    """Where word ``index`` of ``line`` starts (the line's end past the last word)."""
    starts = [found.start() for found in re.finditer(r"\S+", line)]
    return starts[index] if index < len(starts) else len(line)


@dataclass(frozen=True)
class Flavour:
    name: str
    default_host: str
    ssh_version: str
    greeting: str                       # before the first prompt; {vty}, {users}, {now}
    system_view_info: str
    error_prefix: str                   # before "Unrecognized command found at ..."
    header: tuple[str, ...]             # display current-configuration, before the first "#"
    user_replies: dict[str, str]        # fixed user-view commands and their reply
    words: frozenset[str]               # first words accepted in configuration views
    standalone: frozenset[str]          # words that are complete commands on their own
    sections: tuple[SectionRule, ...]
    interface_types: dict[str, tuple[str, bool]]  # lower-case type -> (canonical, logical)
    grouped_sections: frozenset[str]    # sections printed without "#" between them
    save_args: frozenset[str]
    seal: Callable[[str, dict[str, str]], str]
    sealed_keyword: str                 # the word typed before a clear secret ("" for VRP)
    vlan_batch: bool                    # `vlan batch 10 20 to 30` is one merged line
    # command forms checked word by word (see Form); a first word none of them starts
    # with is accepted as before
    grammar: tuple[Form, ...] = ()
    # (view header, line) regexes: a line that looks like a section command but is a
    # setting in that view (Comware's service-template ``vlan 10``)
    view_lines: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    # lines that name another section, refused while it does not exist
    references: tuple[Reference, ...] = ()


SINGLE_VALUED = tuple(re.compile(pattern) for pattern in (
    r"sysname ", r"description ", r"ip address (?=\S+ \S+$)", r"port link-type ",
    r"port default vlan ", r"port access vlan ", r"authentication-mode ",
    r"radius-server shared-key ", r"user privilege level ", r"idle-timeout ",
    r"protocol inbound ", r"ssid ", r"forward-mode ", r"service-vlan ", r"header login ",
    r"header shell ", r"local-user \S+ password ", r"local-user \S+ privilege level ",
    r"local-user \S+ service-type ", r"key authentication ", r"key accounting ", r"nas-ip ",
    r"password ", r"name ", r"clock timezone ", r"snmp-agent sys-info location ",
    r"snmp-agent sys-info contact ", r"user-name-format ", r"info-center timestamp ",
    r"dhcp select ", r"mtu ",
    # the nac template's single-valued lines
    r"dot1x timer reauthenticate-period ", r"mac-authen timer reauthenticate-period ",
    r"accounting realtime ", r"authentication-profile (?=\S+$)", r"security (?=\S+ dot1x)",
    r"dot1x timer reauth-period ", r"mac-authentication timer reauth-period ",
    r"mac-authentication domain ", r"dot1x mandatory-domain ", r"dot1x domain ",
    r"timer realtime-accounting ", r"vlan (?=\d+$)",
    # guest_wifi's portal lines: Huawei's web-auth-server and its bindings, Comware's
    # portal settings of a service template or an interface
    r"web-auth-server listening-port ", r"web-auth-server (?=\S+ direct$)", r"server-ip ",
    r"source-ip ", r"shared-key ", r"port (?=\d+$)", r"url ", r"url-template (?=\S+$)",
    r"portal-access-profile (?=\S+$)", r"free-rule-template (?=\S+$)",
    r"ssid-profile (?=\S+$)", r"portal domain ", r"portal bas-ip ",
    r"portal apply web-server ", r"portal enable method ",
))

def _single_key(text: str) -> str | None:
    """What a single-valued line sets (``description ``, ``ip address ``), else None."""
    for pattern in SINGLE_VALUED:
        found = pattern.match(text)
        if found:
            return found.group(0)
    return None


COMMON_WORDS = frozenset({
    "sysname", "interface", "ip", "ipv6", "vlan", "port", "description", "shutdown",
    "ntp-service", "info-center", "snmp-agent", "header", "local-user", "user-interface",
    "authentication-mode", "protocol", "user", "idle-timeout", "dhcp", "acl", "rule", "wlan",
    "ssid", "domain", "stp", "lldp", "clock", "mtu", "dns", "portal", "ssh", "stelnet",
    "telnet", "undo", "url", "url-template",
})


def _token(style: str) -> str:
    body = secrets.token_urlsafe(30)
    return {"%^%#": f"%^%#{body}%^%#", "$1a$": f"$1a${body}$",
            "$c$3$": f"$c$3${body}==", "$h$6$": f"$h$6${body}=="}[style]


def _is_token(value: str) -> bool:
    return value.startswith(("%^%#", "%@%@", "$1a$", "$c$", "$h$"))


def _seal_vrp(line: str, vault: dict[str, str]) -> str:
    """VRP stores ``cipher X`` as ``cipher %^%#...%^%#`` and community strings likewise."""
    found = re.match(r"(.*?\b)(cipher|irreversible-cipher|pass-phrase) (\S+)(.*)", line)
    if found and not _is_token(found[3]):
        token = _token("$1a$" if found[2] == "irreversible-cipher" else "%^%#")
        vault[token] = found[3]
        return f"{found[1]}{found[2]} {token}{found[4]}"
    found = re.match(r"(snmp-agent community (?:read|write) )(?!cipher )(\S+)(.*)", line)
    if found:
        token = _token("%^%#")
        vault[token] = found[2]
        return f"{found[1]}cipher {token}{found[3]}"
    return line


def _seal_comware(line: str, vault: dict[str, str]) -> str:
    """Comware stores ``simple X`` as ``cipher $c$3$...`` (passwords: ``hash $h$6$...``)."""
    found = re.match(r"(.*?\b)simple (\S+)(.*)", line)
    if not found:
        return line
    hashed = found[1].strip().endswith("password")
    token = _token("$h$6$" if hashed else "$c$3$")
    vault[token] = found[2]
    return f"{found[1]}{'hash' if hashed else 'cipher'} {token}{found[3]}"


def _vty_prompt(groups: tuple[str, ...]) -> str:
    return f"ui-vty{groups[0]}-{groups[1]}" if groups[1] else f"ui-vty{groups[0]}"


def _acl_prompt(kind: str) -> Callable[[tuple[str, ...]], str]:
    def prompt(groups: tuple[str, ...]) -> str:
        return f"{kind}{'basic' if groups[0] < '3000' else 'adv'}-{groups[0]}"
    return prompt


VRP = Flavour(
    name="huawei",
    default_host="HUAWEI",
    ssh_version="SSH-2.0-HUAWEI-1.5",
    greeting=("\r\nInfo: The max number of VTY users is {vty}, and the number\r\n"
              "      of current VTY users on line is {users}.\r\n"
              "      The current login time is {now}.\r\n"),
    system_view_info="Enter system view, return user view with Ctrl+Z.",
    error_prefix="Error: ",
    header=("!Software Version V200R019C10SPC500",),
    user_replies={
        "screen-length 0 temporary":
            "Info: The configuration takes effect on the current user terminal interface only.",
        "undo terminal monitor": "Info: Current terminal monitor is off.",
        "terminal monitor": "Info: Current terminal monitor is on.",
    },
    words=COMMON_WORDS | {
        "radius-server", "hwtacacs-server", "aaa", "authentication-scheme",
        "authorization-scheme", "accounting-scheme", "accounting-mode", "authorization-mode",
        "radius-attribute", "set", "ssid-profile", "vap-profile", "security-profile",
        "ap-group", "regulatory-domain-profile", "country-code", "security", "radio",
        "service-vlan", "forward-mode", "capwap", "url-template", "web-auth-server",
        "free-rule-template", "free-rule", "url", "traffic-filter", "gateway-list", "network",
        "dns-list", "excluded-ip-address", "lease", "port-group", "nat", "user-isolate",
        "authentication-profile", "portal-access-profile", "dot1x-access-profile",
        "mac-access-profile", "dot1x", "mac-authen", "access-domain", "authentication",
        "accounting", "url-parameter", "server-ip", "shared-key", "source-ip",
    },
    standalone=frozenset({"aaa", "wlan", "shutdown"}),
    sections=(
        _rule(r"interface (\S+)", lambda g: g[0]),
        _rule(r"vlan (\d+)", lambda g: f"vlan{g[0]}"),
        _rule(r"aaa", lambda g: "aaa"),
        _rule(r"radius-server template (\S+)", lambda g: f"radius-{g[0]}"),
        _rule(r"hwtacacs-server template (\S+)", lambda g: f"hwtacacs-{g[0]}"),
        _rule(r"user-interface (?:con|console) (\d+)", lambda g: f"ui-console{g[0]}",
              canonical=lambda g: f"user-interface con {g[0]}"),
        _rule(r"user-interface vty (\d+)(?: (\d+))?", _vty_prompt),
        _rule(r"acl (?:number )?([23]\d{3})", _acl_prompt("acl-"),
              canonical=lambda g: f"acl number {g[0]}"),
        _rule(r"ip pool (\S+)", lambda g: f"ip-pool-{g[0]}"),
        _rule(r"wlan", lambda g: "wlan-view"),
        _rule(r"url-template name (\S+)", lambda g: f"url-template-{g[0]}"),
        # (``web-auth-server listening-port N`` is a setting; its undo is not a section's)
        _rule(r"web-auth-server (?!listening-port$)(\S+)", lambda g: f"web-auth-server-{g[0]}"),
        _rule(r"free-rule-template name (\S+)", lambda g: f"free-rule-{g[0]}"),
        _rule(r"portal-access-profile name (\S+)", lambda g: f"portal-acces-profile-{g[0]}"),
        _rule(r"authentication-profile name (\S+)", lambda g: f"authen-profile-{g[0]}"),
        _rule(r"dot1x-access-profile name (\S+)", lambda g: f"dot1x-access-profile-{g[0]}"),
        _rule(r"mac-access-profile name (\S+)", lambda g: f"mac-access-profile-{g[0]}"),
        _rule(r"domain (\S+)", lambda g: f"aaa-domain-{g[0]}", parent=r"aaa"),
        _rule(r"authentication-scheme (\S+)", lambda g: f"aaa-authen-{g[0]}", parent=r"aaa"),
        _rule(r"authorization-scheme (\S+)", lambda g: f"aaa-author-{g[0]}", parent=r"aaa"),
        _rule(r"accounting-scheme (\S+)", lambda g: f"aaa-accounting-{g[0]}", parent=r"aaa"),
        _rule(r"ssid-profile name (\S+)", lambda g: f"wlan-ssid-prof-{g[0]}", parent=r"wlan"),
        _rule(r"vap-profile name (\S+)", lambda g: f"wlan-vap-prof-{g[0]}", parent=r"wlan"),
        _rule(r"security-profile name (\S+)", lambda g: f"wlan-sec-prof-{g[0]}",
              parent=r"wlan"),
        _rule(r"ap-group name (\S+)", lambda g: f"wlan-ap-group-{g[0]}", parent=r"wlan"),
        _rule(r"regulatory-domain-profile name (\S+)", lambda g: f"wlan-regulate-domain-{g[0]}",
              parent=r"wlan"),
    ),
    interface_types={
        "vlanif": ("Vlanif", True), "loopback": ("LoopBack", True),
        "eth-trunk": ("Eth-Trunk", True), "tunnel": ("Tunnel", True),
        "gigabitethernet": ("GigabitEthernet", False),
        "xgigabitethernet": ("XGigabitEthernet", False), "meth": ("MEth", False),
        "null": ("NULL", False),
    },
    grouped_sections=frozenset({"user-interface"}),
    save_args=frozenset(),
    seal=_seal_vrp,
    sealed_keyword="",
    vlan_batch=True,
    # a domain names its schemes with the words that open them in the AAA view
    view_lines=((re.compile(r"domain \S+"),
                 re.compile(r"(?:authentication|authorization|accounting)-scheme \S+")),),
    grammar=_forms(
        ("", "dot1x-access-profile name <name>"), ("", "mac-access-profile name <name>"),
        ("", "authentication-profile name <name>"),
        (r"dot1x-access-profile name \S+", "dot1x reauthenticate"),
        (r"dot1x-access-profile name \S+", "dot1x timer reauthenticate-period <60-7200>"),
        (r"mac-access-profile name \S+", "mac-authen reauthenticate"),
        (r"mac-access-profile name \S+", "mac-authen timer reauthenticate-period <60-7200>"),
        (r"authentication-profile name \S+", "dot1x-access-profile <name>"),
        (r"authentication-profile name \S+", "mac-access-profile <name>"),
        (r"authentication-profile name \S+", "authentication dot1x-mac-bypass"),
        (r"authentication-profile name \S+", "access-domain <name>"),
        (r"authentication-profile name \S+", "access-domain <name> force"),
        (r"interface \S+|vap-profile name \S+", "authentication-profile <name>"),
        (r"accounting-scheme \S+", "accounting realtime <1-65535>"),
        (r"security-profile name \S+", "security wpa|wpa2|wpa-wpa2|wpa3|wpa2-wpa3 dot1x "
                                         "aes|tkip|aes-tkip"),
        # guest_wifi on a Portal AC (AC6605/AC6800V V200R010 command reference): the
        # portal server, its URL template, the profiles binding it to the guest VAP
        ("", "url-template name <name>"),
        (r"url-template name \S+", "url-parameter <pairs:ac-ip|ac-mac|ap-ip|ap-mac|ap-name|"
                                     "ap-group-name|ap-location|redirect-url|ssid|sysname|"
                                     "user-ipaddress|user-mac|user-vlan>"),
        ("", "web-auth-server <name>"), ("", "web-auth-server listening-port <1024-55535>"),
        (r"web-auth-server \S+", "server-ip <ip>"),
        (r"web-auth-server \S+", "shared-key cipher|simple <text>"),
        (r"web-auth-server \S+", "url-template <name>"),
        (r"web-auth-server \S+", "source-ip <ip>"),
        ("", "free-rule-template name <name>"),
        (r"free-rule-template name \S+", "free-rule <0-4095> destination ip <ip> mask <ip>"),
        (r"free-rule-template name \S+", "free-rule <0-4095> destination ip any udp|tcp "
                                           "destination-port <1-65535>"),
        ("", "portal-access-profile name <name>"),
        (r"portal-access-profile name \S+", "web-auth-server <name> direct"),
        (r"portal-access-profile name \S+", "web-auth-server <name> <name> direct"),
        (r"authentication-profile name \S+", "portal-access-profile <name>"),
        (r"authentication-profile name \S+", "free-rule-template <name>"),
        ("wlan", "ssid-profile name <name>"), ("wlan", "vap-profile name <name>"),
        (r"vap-profile name \S+", "ssid-profile <name>"),
        (r"vap-profile name \S+", "forward-mode tunnel|direct-forward"),
        (r"vap-profile name \S+", "service-vlan vlan-id <1-4094>"),
        (r"ap-group name \S+", "vap-profile <name> wlan <1-16> radio all|<0-2>"),
    ),
    references=_references(
        (r"vap-profile name \S+|interface \S+", r"authentication-profile (\S+)",
         "authentication-profile name {}", "The authentication profile does not exist."),
        (r"vap-profile name \S+", r"ssid-profile (\S+)", "ssid-profile name {}",
         "The SSID profile does not exist."),
        (r"ap-group name \S+", r"vap-profile (\S+) wlan .*", "vap-profile name {}",
         "The VAP profile does not exist."),
        (r"authentication-profile name \S+", r"portal-access-profile (\S+)",
         "portal-access-profile name {}", "The Portal access profile does not exist."),
        (r"authentication-profile name \S+", r"free-rule-template (\S+)",
         "free-rule-template name {}", "The free rule template does not exist."),
        (r"portal-access-profile name \S+", r"web-auth-server (\S+) direct",
         "web-auth-server {}", "The Portal server template does not exist."),
        (r"web-auth-server \S+", r"url-template (\S+)", "url-template name {}",
         "The URL template does not exist."),
    ),
)

COMWARE = Flavour(
    name="h3c",
    default_host="H3C",
    ssh_version="SSH-2.0-Comware-7.1.064",
    greeting="\r\n".join((
        "", "*" * 78,
        "* Copyright (c) 2004-2021 New H3C Technologies Co., Ltd. All rights reserved.*",
        "* Without the owner's prior written consent,                                 *",
        "* no decompiling or reverse-engineering shall be allowed.                    *",
        "*" * 78, "", "")),
    system_view_info="System View: return to User View with Ctrl+Z.",
    error_prefix=" % ",
    header=("#", " version 7.1.070, Release 6348"),
    user_replies={
        "screen-length disable": "",
        "undo terminal monitor": "The current terminal is disabled to display logs.",
        "terminal monitor": "The current terminal is enabled to display logs.",
    },
    words=COMMON_WORDS | {
        "name", "radius", "primary", "secondary", "key", "nas-ip", "user-name-format",
        "authentication", "authorization", "accounting", "password", "service-type",
        "authorization-attribute", "line", "user-role", "role", "user-group", "service-template",
        "akm", "cipher-suite", "preshared-key", "packet-filter", "gateway-list", "network",
        "dns-list", "lease", "forbidden-ip", "nat", "ntp", "client", "dot1x",
        "mac-authentication", "timer", "security-ie", "client-security", "pmf", "ssid", "vlan",
        "url-parameter",
    },
    standalone=frozenset({"shutdown", "dot1x", "mac-authentication"}),
    sections=(
        _rule(r"interface (\S+)", lambda g: g[0]),
        _rule(r"vlan (\d+)", lambda g: f"vlan{g[0]}"),
        _rule(r"radius scheme (\S+)", lambda g: f"radius-{g[0]}"),
        _rule(r"radius dynamic-author server", lambda g: "radius-da-server"),
        _rule(r"domain (?!default )(\S+)", lambda g: f"isp-{g[0]}"),
        _rule(r"local-user (\S+)(?: class (manage|network))?",
              lambda g: f"luser-{g[1] or 'manage'}-{g[0]}",
              canonical=lambda g: f"local-user {g[0]} class {g[1] or 'manage'}"),
        _rule(r"line vty (\d+) (\d+)", lambda g: f"line-vty{g[0]}-{g[1]}"),
        _rule(r"line class (\S+)", lambda g: f"line-class-{g[0]}"),
        _rule(r"user-interface vty (\d+)(?: (\d+))?", _vty_prompt),
        _rule(r"acl (?:advanced|basic|number) ([23]\d{3})", _acl_prompt("acl-ipv4-"),
              canonical=lambda g: f"acl {'basic' if g[0] < '3000' else 'advanced'} {g[0]}"),
        _rule(r"wlan service-template (\S+)", lambda g: f"wlan-st-{g[0]}"),
        _rule(r"dhcp server ip-pool (\S+)", lambda g: f"dhcp-pool-{g[0]}"),
        _rule(r"portal web-server (\S+)", lambda g: f"portal-websvr-{g[0]}"),
        _rule(r"portal server (\S+)", lambda g: f"portal-server-{g[0]}"),
        _rule(r"role name (\S+)", lambda g: f"role-{g[0]}"),
        _rule(r"user-group (\S+)", lambda g: f"ugroup-{g[0]}"),
    ),
    interface_types={
        "vlan-interface": ("Vlan-interface", True), "loopback": ("LoopBack", True),
        "bridge-aggregation": ("Bridge-Aggregation", True), "tunnel": ("Tunnel", True),
        "gigabitethernet": ("GigabitEthernet", False),
        "ten-gigabitethernet": ("Ten-GigabitEthernet", False),
        "m-gigabitethernet": ("M-GigabitEthernet", False), "null": ("NULL", False),
    },
    grouped_sections=frozenset(),
    save_args=frozenset({"force"}),
    seal=_seal_comware,
    sealed_keyword="simple",
    vlan_batch=False,
    grammar=_forms(
        ("|interface \\S+", "dot1x"), ("|interface \\S+", "dot1x timer reauth-period <60-7200>"),
        (r"interface \S+", "dot1x mandatory-domain <name>"),
        (r"interface \S+", "dot1x re-authenticate"),
        (r"wlan service-template \S+", "dot1x domain <name>"),
        ("|interface \\S+", "mac-authentication"), ("", "mac-authentication domain <name>"),
        ("|interface \\S+", "mac-authentication timer reauth-period <60-7200>"),
        (r"interface \S+", "mac-authentication re-authenticate"),
        (r"radius scheme \S+", "timer realtime-accounting <0-71582>"),
        (r"radius scheme \S+", "user-name-format keep-original|with-domain|without-domain"),
        (r"domain \S+", "authentication|authorization|accounting lan-access|portal|login "
                         "radius-scheme <name>"),
        (r"wlan service-template \S+", "akm mode dot1x|psk"),
        (r"wlan service-template \S+", "cipher-suite ccmp|tkip|gcmp"),
        (r"wlan service-template \S+", "security-ie rsn|wpa"),
        (r"wlan service-template \S+", "pmf mandatory|optional"),
        (r"wlan service-template \S+", "client-security authentication-mode "
                                         "dot1x|mac|mac-and-dot1x|dot1x-then-mac|mac-then-dot1x"),
        (r"wlan service-template \S+", "service-template enable"),
        (r"|wlan service-template \S+", "vlan <1-4094>"),
        (r"wlan service-template \S+", "ssid <text>"),
        # guest_wifi on a Portal AC (Comware 7 portal command reference): the portal
        # servers, free rules, and the portal on the guest service template
        ("", "portal web-server <name>"), ("", "portal server <name>"),
        ("", "portal free-rule <0-4294967295> destination ip <ip> <ip>"),
        ("", "portal free-rule <0-4294967295> destination ip any udp|tcp <1-65535>"),
        (r"portal web-server \S+", "url-parameter <name> original-url|source-address|"
                                     "source-mac|ssid|ap-mac|ap-name"),
        (r"portal web-server \S+", "url-parameter <name> value <text>"),
        (r"wlan service-template \S+", "portal enable method direct"),
        (r"interface \S+", "portal enable method direct|layer3|redhcp"),
        (r"wlan service-template \S+|interface \S+", "portal domain <name>"),
        (r"wlan service-template \S+|interface \S+", "portal bas-ip <ip>"),
        (r"wlan service-template \S+|interface \S+", "portal apply web-server <name>"),
    ),
    references=_references(
        (r"wlan service-template \S+|interface \S+", r"portal domain (\S+)", "domain {}",
         "The ISP domain does not exist."),
        (r"wlan service-template \S+|interface \S+", r"portal apply web-server (\S+)",
         "portal web-server {}", "The portal Web server does not exist."),
    ),
    view_lines=((re.compile(r"wlan service-template \S+"), re.compile(r"vlan \d+")),),
)

FLAVOURS = {flavour.name: flavour for flavour in (VRP, COMWARE)}


def _yes(answer: str) -> bool:
    return answer.strip().lower().startswith("y")


def _vrp_save(device: FakeVrp, _args: list[str]) -> Dialogue:
    answer = yield ("The current configuration will be written to the device.\r\n"
                    "Are you sure to continue?[Y/N]")
    if not _yes(answer):
        return ""
    device.save()
    return ("Now saving the current configuration to the slot 0.\r\n"
            "Save the configuration successfully.")


def _comware_save(device: FakeVrp, args: list[str]) -> Dialogue:
    done = ("Validating file. Please wait...\r\n"
            "Saved the current configuration to mainboard device successfully.")
    if args != ["force"]:
        if not _yes((yield "The current configuration will be written to the device. "
                           "Are you sure? [Y/N]:")):
            return ""
        yield ("Please input the file name(*.cfg)[flash:/startup.cfg]\r\n"
               "(To leave the existing filename unchanged, press the enter key):")
        if not _yes((yield "flash:/startup.cfg exists, overwrite? [Y/N]:")):
            return ""
    device.save()
    return done


SAVE_DIALOGUES: dict[str, Callable[[FakeVrp, list[str]], Dialogue]] = {
    "huawei": _vrp_save, "h3c": _comware_save,
}


def _interfaces(device: FakeVrp) -> list[tuple[str, Node]]:
    """(name, section) of every configured interface, and NULL0, by name."""
    found = {node.text.split(" ", 1)[1]: node for node in device.root.children
             if node.text.startswith("interface ")}
    found.setdefault("NULL0", Node("interface NULL0", section=True))
    return sorted(found.items())


def _shut(node: Node) -> bool:
    return any(child.text == "shutdown" for child in node.children)


def _vrp_interface_brief(device: FakeVrp) -> list[str]:
    lines = ["PHY: Physical", "*down: administratively down", "^down: standby",
             "(l): loopback", "(s): spoofing", "(b): BFD down", "(e): ETHOAM down",
             "(dl): DLDP down", "(d): Dampening Suppressed",
             "InUti/OutUti: input utility/output utility",
             "Interface                   PHY   Protocol  InUti OutUti   inErrors  outErrors"]
    for name, node in _interfaces(device):
        phy, protocol = ("*down", "down") if _shut(node) else (
            "up", "up(s)" if name.startswith(("NULL", "LoopBack")) else "up")
        lines.append(f"{name:<27} {phy:<5} {protocol:<8} {'0%':>5} {'0%':>6} "
                     f"{0:>10} {0:>10}")
    return lines


def _comware_interface_brief(device: FakeVrp) -> list[str]:
    """Logical interfaces in the route-mode table, ports in the bridge-mode one, with the
    type names abbreviated as Comware prints them."""
    short = {"Vlan-interface": "Vlan", "LoopBack": "Loop", "GigabitEthernet": "GE",
             "Ten-GigabitEthernet": "XGE", "M-GigabitEthernet": "MGE",
             "Bridge-Aggregation": "BAGG"}
    routed, bridged = [], []
    for name, node in _interfaces(device):
        found = re.fullmatch(r"([A-Za-z-]+)(.*)", name)
        kind, number = (found[1], found[2]) if found else (name, "")
        label = short.get(kind, kind) + number
        link = "ADM" if _shut(node) else "UP"
        if kind == "NULL" or COMWARE.interface_types.get(kind.lower(), ("", True))[1]:
            address = next((c.text.split()[2] for c in node.children
                            if c.text.startswith("ip address ")), "--")
            protocol = "DOWN" if link == "ADM" else "UP(s)" if kind in ("NULL", "LoopBack") \
                else "UP"
            routed.append(f"{label:<20} {link:<4} {protocol:<8} {address}")
        else:
            trunk = any(c.text == "port link-type trunk" for c in node.children)
            speed, duplex = ("auto", "A") if link == "ADM" else ("1G(a)", "F(a)")
            bridged.append(f"{label:<20} {link:<4} {speed:<7} {duplex:<6} "
                           f"{'T' if trunk else 'A':<4} 1")
    return ["Brief information on interfaces in route mode:",
            "Link: ADM - administratively down; Stby - standby", "Protocol: (s) - spoofing",
            "Interface            Link Protocol Primary IP      Description", *routed, "",
            "Brief information on interfaces in bridge mode:",
            "Link: ADM - administratively down; Stby - standby", "Speed: (a) - auto",
            "Duplex: (a)/A - auto; H - half; F - full", "Type: A - access; T - trunk; H - hybrid",
            "Interface            Link Speed   Duplex Type PVID Description", *bridged]


def _vrp_cpu_usage(device: FakeVrp) -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%d  %H:%M:%S")
    load = device.cpu_percent
    return ["CPU Usage Stat. Cycle: 60 (Second)", f"CPU Usage            : {load}% Max: 31%",
            f"CPU Usage Stat. Time : {now}",
            f"CPU utilization for ten seconds: {load}%: one minute: {load}%: "
            f"five minutes: {load}%", "Max CPU Usage Stat. Time : 2024-04-30 03:12:45.", "",
            "TaskName        CPU  Runtime(CPU Tick High/Tick Low)  Task Explanation",
            f"VIDL           {100 - load:>3}%         0/ 21be05d3       DOPRA IDLE",
            f"OS             {load:>3}%         0/  2b8a0e8       Operation System"]


def _comware_cpu_usage(device: FakeVrp) -> list[str]:
    load = device.cpu_percent
    return ["Slot 1 CPU 0 CPU usage:", f"      {load:>2}% in last 5 seconds",
            f"      {load:>2}% in last 1 minute", f"      {load:>2}% in last 5 minutes"]


def _vrp_ap_all(device: FakeVrp) -> list[str]:
    names = {"fault": "fault", "idle": "idle", "nor": "normal", "stdby": "standby"}
    counts = {state: sum(1 for _name, s in device.aps if s == state) for state in names}
    rule = "-" * 110
    lines = ["Total AP information:",
             *(f"{state:<5} : {names[state]:<15} [{count}]"
               for state, count in counts.items() if count),
             "ExtraInfo : Extra information", "P     : insufficient power supply", rule,
             "ID    MAC            Name        Group      IP            Type            "
             "State  STA  Uptime     ExtraInfo Scene", rule]
    for index, (name, state) in enumerate(device.aps):
        up = state == "nor"
        lines.append(f"{index:<5} 00e0-fc00-{index:04x} {name:<11} default    "
                     f"{f'10.1.1.{index + 10}' if up else '-':<13} AP5030DN        "
                     f"{state:<6} {3 if up else 0:<4} {'1D:2H:3M' if up else '-':<10} "
                     "-         -")
    return [*lines, rule, f"Total: {len(device.aps)}"]


STATE_DISPLAYS: dict[str, dict[tuple[str, ...], Callable[[FakeVrp], list[str]]]] = {
    "huawei": {("interface", "brief"): _vrp_interface_brief,
               ("cpu-usage",): _vrp_cpu_usage, ("ap", "all"): _vrp_ap_all},
    "h3c": {("interface", "brief"): _comware_interface_brief,
            ("cpu-usage",): _comware_cpu_usage},
}


def parse_config(text: str, flavour: Flavour) -> list[Node]:
    """Top-level nodes of a configuration in ``display current-configuration`` form.

    A line at column 0 opens a top-level section; an indented line right after ``#`` (or
    after another such line) is a top-level single command; deeper lines are children.
    """
    top: list[Node] = []
    stack: list[tuple[int, Node]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.startswith("!") or line in ("return", *flavour.header):
            continue
        if line.strip() == "#":
            stack = []
            continue
        indent = len(line) - len(line.lstrip(" "))
        node = Node(line.strip(), section=_opens_view(line.strip(), flavour))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if indent == 0 or not stack:
            top.append(node)
            if indent == 0:
                node.section = True
                stack = [(0, node)]
            continue
        parent = stack[-1][1]
        parent.children.append(node)
        parent.section = True
        stack.append((indent, node))
    return top


def _opens_view(text: str, flavour: Flavour) -> bool:
    return any(rule.pattern.fullmatch(text) for rule in flavour.sections)


def render_config(root: Node, flavour: Flavour) -> list[str]:
    """The lines ``display current-configuration`` prints for this tree."""
    lines = [*flavour.header, "#"]
    previous: Node | None = None
    for node in root.children:
        if previous is not None and not _same_block(previous, node, flavour):
            lines.append("#")
        lines.extend(_node_lines(node, 0))
        previous = node
    if previous is not None:
        lines.append("#")
    lines.append("return")
    return lines


def _same_block(a: Node, b: Node, flavour: Flavour) -> bool:
    first_a, first_b = a.text.split()[0], b.text.split()[0]
    if a.section or b.section:
        return a.section and b.section and first_a == first_b \
            and first_a in flavour.grouped_sections
    return first_a == first_b


def _node_lines(node: Node, depth: int) -> Iterator[str]:
    # Top-level single commands are printed one space in, like section children.
    indent = depth if (node.section or depth) else 1
    yield " " * indent + node.text
    for child in node.children:
        yield from _node_lines(child, depth + 1)


def _holds(node: Node, text: str) -> bool:
    """Whether a section ``text`` is anywhere under ``node``."""
    return any(child.text == text or _holds(child, text) for child in node.children
               if child.section)


def _vlan_ids(words: list[str]) -> set[int]:
    ids: set[int] = set()
    index = 0
    while index < len(words):
        if index + 2 < len(words) and words[index + 1] == "to":
            ids.update(range(int(words[index]), int(words[index + 2]) + 1))
            index += 3
        else:
            ids.add(int(words[index]))
            index += 1
    return ids


def _vlan_text(ids: set[int]) -> str:
    parts: list[str] = []
    ordered = sorted(ids)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        parts.append(str(ordered[start]) if start == end
                     else f"{ordered[start]} to {ordered[end]}")
        start = end + 1
    return "vlan batch " + " ".join(parts)


class CliSession:
    """One logged-in CLI: its view, a pending question, and its configuration commands."""

    def __init__(self, device: FakeVrp) -> None:
        self.device = device
        self.flavour = device.flavour
        self.view: list[Node] | None = None  # None: user view; [root, ...]: system view down
        self.dialogue: Dialogue | None = None
        self.config_commands = 0

    def prompt(self) -> str:
        host = self.device.hostname
        if self.view is None:
            return f"<{host}>"
        if len(self.view) == 1:
            return f"[{host}]"
        return f"[{host}-{self._view_name(self.view[-1])}]"

    def _view_name(self, node: Node) -> str:
        for rule in self.flavour.sections:
            found = rule.pattern.fullmatch(node.text)
            if found:
                return rule.prompt(found.groups())
        return node.text.replace(" ", "-")

    def feed(self, raw: str) -> tuple[str, bool]:
        """Handle one typed line: the bytes to send back (echo, reply, prompt) and whether
        the session ends here."""
        self.device.record(raw)
        line = raw.strip()
        echo = raw + "\r\n"
        if self.dialogue is not None:
            return echo + self._answer(raw), False
        if self.view is not None and line:
            self.config_commands += 1
            if self.device.drop_due(self.config_commands):
                return "", True
        if not line:
            return echo + self.prompt(), False
        if line == "quit" and self.view is None:
            return echo, True
        try:
            output = self._dispatch(line)
        except _CliError as error:
            output = self._error_lines(raw, error)
        if self.dialogue is not None:
            return echo + "".join(out + "\r\n" for out in output[:-1]) + output[-1], False
        return echo + "".join(out + "\r\n" for out in output) + self.prompt(), False

    def _answer(self, raw: str) -> str:
        assert self.dialogue is not None
        try:
            return self.dialogue.send(raw)
        except StopIteration as done:
            self.dialogue = None
            text = str(done.value)
            return (text + "\r\n" if text else "") + self.prompt()

    def _error_lines(self, raw: str, error: _CliError) -> list[str]:
        message = f"{self.flavour.error_prefix}{error.text}"
        if error.column is None:
            return [message]
        lead = len(raw) - len(raw.lstrip())
        caret = " " * (len(self.prompt()) + lead + error.column) + "^"
        return [caret, f"{message} found at '^' position."]

    def _dispatch(self, line: str) -> list[str]:
        fail_on = self.device.fail_on
        if fail_on is not None and re.search(fail_on, line):
            return [self.device.fail_reply or f"{self.flavour.error_prefix}"
                    "The command failed to be executed."]
        words = line.split()
        if words[0] == "display":
            return self._display(line, words)
        if words[0] == "save":
            return self._save(line, words)
        if self.view is None:
            return self._user_view(line)
        if line == "quit":
            self.view.pop()
            if len(self.view) == 0:
                self.view = None
            return []
        if line == "return":
            self.view = None
            return []
        with self.device.lock:
            if words[0] == "undo":
                self._undo(line)
            else:
                self._configure(line, 0)
        return []

    def _user_view(self, line: str) -> list[str]:
        if line == "system-view":
            self.view = [self.device.root]
            return [self.flavour.system_view_info]
        if line in self.flavour.user_replies:
            reply = self.flavour.user_replies[line]
            return [reply] if reply else []
        raise _CliError("Unrecognized command", 0)

    def _display(self, line: str, words: list[str]) -> list[str]:
        command, _, pipe = line.partition("|")
        subject = command.split()[1:]
        with self.device.lock:
            if subject == ["current-configuration"]:
                lines = render_config(self.device.root, self.flavour)
            elif subject == ["saved-configuration"]:
                lines = render_config(self.device.saved, self.flavour)
            elif subject == ["this"]:
                lines = self._display_this()
            elif tuple(subject) in STATE_DISPLAYS[self.flavour.name]:
                lines = STATE_DISPLAYS[self.flavour.name][tuple(subject)](self.device)
            elif len(words) == 1:
                raise _CliError("Incomplete command", len(line))
            else:
                raise _CliError("Unrecognized command", line.index(words[1]))
        if not pipe:
            return lines
        how, _, pattern = pipe.strip().partition(" ")
        regex = re.compile(pattern.strip())
        if how == "include":
            return [out for out in lines if regex.search(out)]
        if how == "exclude":
            return [out for out in lines if not regex.search(out)]
        if how == "begin":
            starts = [index for index, out in enumerate(lines) if regex.search(out)]
            return lines[starts[0]:] if starts else []
        raise _CliError("Unrecognized command", line.index("|") + 2)

    def _display_this(self) -> list[str]:
        if self.view is None:
            raise _CliError("Unrecognized command", len("display "))
        if len(self.view) == 1:
            body = [line for node in self.device.root.children if not node.section
                    for line in _node_lines(node, 0)]
        else:
            body = list(_node_lines(self.view[-1], len(self.view) - 2))
        return ["#", *body, "#", "return"]

    def _save(self, line: str, words: list[str]) -> list[str]:
        for word in words[1:]:
            if word not in self.flavour.save_args:
                raise _CliError("Wrong parameter", line.index(word))
        self.dialogue = SAVE_DIALOGUES[self.flavour.name](self.device, words[1:])
        try:
            question = next(self.dialogue)
        except StopIteration as done:
            self.dialogue = None
            return [str(done.value)]
        return [question]

    def _configure(self, line: str, offset: int) -> None:
        assert self.view is not None
        words = line.split()
        if words[0] not in self.flavour.words:
            raise _CliError("Unrecognized command", offset)
        if len(words) == 1 and words[0] not in self.flavour.standalone:
            raise _CliError("Incomplete command", offset + len(line))
        local = any(view.fullmatch(self.view[-1].text) and setting.fullmatch(line)
                    for view, setting in self.flavour.view_lines)
        self._check_form(line, offset, local)
        self._check_references(line)
        if local:
            self._store(self.view[-1], line)
            return
        if words[0] == "interface":
            line = "interface " + self._interface_name(line, offset)[0]
        found = self._section_rule(line)
        if found is not None:
            depth, rule, match = found
            self.view = self.view[:depth + 1]
            parent = self.view[-1]
            header = rule.header(match)
            node = next((child for child in parent.children if child.text == header), None)
            if node is None:
                node = Node(header, section=True)
                self._insert(parent, node)
            self.view.append(node)
            return
        if words[0] == "sysname":
            self._store(self.device.root, line)
        elif words[:2] == ["vlan", "batch"] and self.flavour.vlan_batch:
            self._vlan_batch(_vlan_ids(words[2:]), add=True)
        else:
            self._store(self.view[-1], line)

    def _check_form(self, line: str, offset: int, local: bool) -> None:
        """Refuse ``line`` as the device would when its first word has checked forms
        (``Flavour.grammar``) and it is none of those of the current view."""
        assert self.view is not None
        words = line.split()
        forms = [form for form in self.flavour.grammar if form.words[0] == words[0]]
        if not forms:
            return
        # a section command climbs to the view that owns it, as the device does
        opening = None if local else self._section_rule(line)
        depth = opening[0] if opening is not None else len(self.view) - 1
        header = self.view[depth].text if depth > 0 else ""
        here = [form for form in forms if form.view.fullmatch(header)]
        if not here:
            raise _CliError("Unrecognized command", offset)
        errors = [_form_error(form, words) for form in here]
        if None in errors:
            return
        index, message = max(error for error in errors if error is not None)
        raise _CliError(message, offset + _column(line, index))

    def _check_references(self, line: str) -> None:
        """Refuse a line naming a section that does not exist (``Flavour.references``)."""
        assert self.view is not None
        header = self.view[-1].text if len(self.view) > 1 else ""
        for ref in self.flavour.references:
            found = ref.line.fullmatch(line)
            if found and ref.view.fullmatch(header) and \
                    not _holds(self.device.root, ref.target.format(found[1])):
                raise _CliError(ref.refusal)

    def _interface_name(self, line: str, offset: int) -> tuple[str, bool]:
        found = re.fullmatch(r"interface\s+([A-Za-z][A-Za-z-]*?)\s*(\d[\d/:.]*)", line)
        kind = self.flavour.interface_types.get(found[1].lower()) if found else None
        if found is None or kind is None:
            raise _CliError("Wrong parameter", offset + len("interface "))
        return f"{kind[0]}{found[2]}", kind[1]

    def _section_rule(self, line: str) -> tuple[int, SectionRule, re.Match[str]] | None:
        """The rule opening this section and the depth in the current path that owns it."""
        assert self.view is not None
        for rule in self.flavour.sections:
            match = rule.pattern.fullmatch(line)
            if match is None:
                continue
            if rule.parent is None:
                return 0, rule, match
            for depth in range(len(self.view) - 1, 0, -1):
                if rule.parent.fullmatch(self.view[depth].text):
                    return depth, rule, match
        return None

    def _store(self, parent: Node, line: str) -> None:
        """Add a line; one that repeats a line or sets a single-valued one replaces it."""
        text = self.flavour.seal(line, self.device.vault)
        key = _single_key(text)
        for index, child in enumerate(parent.children):
            if child.section:
                continue
            if line in (child.text, self._clear(child.text)) or \
                    (key is not None and _single_key(child.text) == key):
                parent.children[index] = Node(text)
                return
        self._insert(parent, Node(text))

    def _insert(self, parent: Node, node: Node) -> None:
        """Children go last; top-level entries go after their kind, as the device orders
        its configuration by module rather than by time."""
        parent.section = parent.section or parent is not self.device.root
        if parent is not self.device.root:
            parent.children.append(node)
            return
        first = node.text.split()[0]
        same_kind = [index for index, child in enumerate(parent.children)
                     if child.text.split()[0] == first and child.section == node.section]
        late = [index for index, child in enumerate(parent.children)
                if child.text.split()[0] in ("user-interface", "line")]
        position = (same_kind[-1] + 1 if same_kind else late[0] if late
                    else len(parent.children))
        parent.children.insert(position, node)

    def _vlan_batch(self, ids: set[int], *, add: bool) -> None:
        root = self.device.root
        old = next((child for child in root.children
                    if child.text.startswith("vlan batch ")), None)
        current = _vlan_ids(old.text.split()[2:]) if old else set()
        current = current | ids if add else current - ids
        if old is not None:
            root.children.remove(old)
        if current:
            self._insert(root, Node(_vlan_text(current)))

    def _undo(self, line: str) -> None:
        assert self.view is not None
        target = line[len("undo"):].strip()
        offset = line.index(target) if target else len(line)
        words = target.split()
        if not words:
            raise _CliError("Incomplete command", offset)
        if words[0] not in self.flavour.words:
            raise _CliError("Unrecognized command", offset)
        if words[0] == "interface":
            name, logical = self._interface_name(target, offset)
            if not logical:
                raise _CliError("The physical interface cannot be deleted.")
            target = f"interface {name}"
        if words[:2] == ["vlan", "batch"] and self.flavour.vlan_batch:
            self._vlan_batch(_vlan_ids(words[2:]), add=False)
            return
        found = self._section_rule(target)
        if found is not None:
            depth, rule, match = found
            parent = self.view[depth]
            header = rule.header(match)
            parent.children = [c for c in parent.children if c.text != header]
            if any(node.text == header for node in self.view[depth + 1:]):
                self.view = self.view[:depth + 1]
            return
        parent = self.device.root if words[0] == "sysname" else self.view[-1]
        parent.children = [child for child in parent.children
                           if child.section or not self._undoes(target, child.text)]

    def _undoes(self, target: str, text: str) -> bool:
        clear = self._clear(text)
        if target in (text, clear):
            return True
        wanted = target.split()
        return clear.split()[:len(wanted)] == wanted or text.split()[:len(wanted)] == wanted

    def _clear(self, text: str) -> str:
        """The line as typed in clear (secret tokens replaced by their value)."""
        words = text.split()
        for index, word in enumerate(words):
            if word in self.device.vault:
                words[index] = self.device.vault[word]
                if self.flavour.sealed_keyword and index > 0:
                    words[index - 1] = self.flavour.sealed_keyword
        return " ".join(words)


class _SshServer(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, device: FakeVrp) -> None:
        self.device = device
        self.shell_requested = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        expected_user, expected_password = self.device.credentials
        if secrets.compare_digest(username.encode(), expected_user.encode()) and \
                secrets.compare_digest(password.encode(), expected_password.encode()):
            return int(paramiko.AUTH_SUCCESSFUL)
        with self.device.lock:
            self.device.auth_failures += 1
        return int(paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return int(paramiko.OPEN_SUCCEEDED)
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_pty_request(self, *_args: object) -> bool:
        return True

    def check_channel_window_change_request(self, *_args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell_requested.set()
        return True


_HOST_KEY: list[paramiko.PKey] = []
_HOST_KEY_LOCK = threading.Lock()


def _host_key() -> paramiko.PKey:
    with _HOST_KEY_LOCK:
        if not _HOST_KEY:
            _HOST_KEY.append(paramiko.ECDSAKey.generate())
        return _HOST_KEY[0]


class FakeVrp:
    """A fake VRP (``flavour="huawei"``) or Comware (``"h3c"``) device on ``address``.

    ``start()`` listens on a port the OS picks (``port``); ``stop()`` ends every session and
    the listener and may be called twice. Counters for tests: ``sessions_opened`` (shells
    started), ``max_concurrent`` (most VTY lines held at once, counted from TCP accept),
    ``refused`` (connections turned away by ``max_sessions``), ``auth_failures``, ``drops``,
    and ``commands`` (every line received, secrets included).
    """

    def __init__(self, flavour: str = "huawei", *, hostname: str | None = None,
                 initial_config: str = "", credentials: tuple[str, str] = ("admin", "admin"),
                 address: str = "127.0.0.1",
                 kex_delay: float = 0.0, max_sessions: int | None = None,
                 drop_after_commands: int | None = None, fail_on: str | None = None,
                 fail_reply: str | None = None) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}; known: {', '.join(FLAVOURS)}")
        self.flavour = FLAVOURS[flavour]
        self.credentials = credentials
        self.address = address  # where it listens (any 127/8 address: one per fake AC)
        self.kex_delay = kex_delay
        self.max_sessions = max_sessions
        self.drop_after_commands = drop_after_commands
        self.fail_on = fail_on
        self.fail_reply = fail_reply
        self.cpu_percent = 5  # what `display cpu-usage` shows
        self.aps: list[tuple[str, str]] = []  # VRP `display ap all`: (name, state: nor, fault...)
        self.lock = threading.RLock()
        self.vault: dict[str, str] = {}  # secret token -> clear value, for `undo` matching
        self.root = Node("", section=True, children=parse_config(initial_config, self.flavour))
        self._seal_tree(self.root)
        if hostname is not None:
            self.root.children = [node for node in self.root.children
                                  if not node.text.startswith("sysname ")]
            self.root.children.insert(0, Node(f"sysname {hostname}"))
        self.saved = self.root.copy()
        self.port = 0
        self.sessions_opened = 0
        self.max_concurrent = 0
        self.refused = 0
        self.auth_failures = 0
        self.drops = 0
        self.commands: list[str] = []
        self._active = 0
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._transports: set[paramiko.Transport] = set()
        self._sockets: set[socket.socket] = set()

    # --- state -------------------------------------------------------------------------

    def _seal_tree(self, node: Node) -> None:
        """Clear secrets in the initial configuration are stored as the device would."""
        for child in node.children:
            child.text = self.flavour.seal(child.text, self.vault)
            self._seal_tree(child)

    @property
    def hostname(self) -> str:
        with self.lock:
            for node in self.root.children:
                if node.text.startswith("sysname "):
                    return node.text.split(" ", 1)[1]
        return self.flavour.default_host

    @property
    def active_sessions(self) -> int:
        with self.lock:
            return self._active

    def running_config(self) -> str:
        with self.lock:
            return "\n".join(render_config(self.root, self.flavour)) + "\n"

    def saved_config(self) -> str:
        with self.lock:
            return "\n".join(render_config(self.saved, self.flavour)) + "\n"

    def save(self) -> None:
        with self.lock:
            self.saved = self.root.copy()

    def reboot(self) -> None:
        """End every session and come back with the saved configuration."""
        self._close_sessions()
        with self.lock:
            self.root = self.saved.copy()

    def record(self, line: str) -> None:
        if line.strip():
            with self.lock:
                self.commands.append(line)

    def drop_due(self, config_commands: int) -> bool:
        with self.lock:
            limit = self.drop_after_commands
            if limit is None or config_commands <= limit:
                return False
            self.drop_after_commands = None  # one-shot, like one link flap
            self.drops += 1
            return True

    # --- server ------------------------------------------------------------------------

    def __enter__(self) -> FakeVrp:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> FakeVrp:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self.address, 0))
        listener.listen(32)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._close_sessions()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    def _close_sessions(self) -> None:
        with self.lock:
            transports, sockets = list(self._transports), list(self._sockets)
        for transport in transports:
            transport.close()
        for sock in sockets:
            sock.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                sock, _peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        with self.lock:
            if self.max_sessions is not None and self._active >= self.max_sessions:
                self.refused += 1
                sock.close()
                return
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
            self._sockets.add(sock)
        try:
            self._run_ssh(sock)
        finally:
            with self.lock:
                self._active -= 1
                self._sockets.discard(sock)
            sock.close()

    def _run_ssh(self, sock: socket.socket) -> None:
        # A slow key exchange: the identification string comes late (a fault, not a wait).
        if self.kex_delay and self._stopping.wait(self.kex_delay):
            return
        try:
            transport = paramiko.Transport(sock)
        except OSError:
            return  # closed meanwhile: the client gave up, or stop()/reboot()
        transport.local_version = self.flavour.ssh_version
        transport.add_server_key(_host_key())
        with self.lock:
            self._transports.add(transport)
        server = _SshServer(self)
        try:
            transport.start_server(server=server)
            channel = None
            while channel is None and transport.is_active() and not self._stopping.is_set():
                channel = transport.accept(timeout=0.2)
            while channel is not None and not server.shell_requested.wait(0.2):
                if not transport.is_active() or self._stopping.is_set():
                    return
            if channel is not None:
                self._cli(channel)
        except (paramiko.SSHException, EOFError, OSError):
            return
        finally:
            with self.lock:
                self._transports.discard(transport)
            transport.close()

    def _cli(self, channel: paramiko.Channel) -> None:
        session = CliSession(self)
        with self.lock:
            self.sessions_opened += 1
            users = self._active
        vty = self.max_sessions if self.max_sessions is not None else 5
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
        channel.sendall(self.flavour.greeting.format(vty=vty, users=users, now=now)
                        + session.prompt())
        channel.settimeout(0.2)
        pending = ""
        while not self._stopping.is_set():
            try:
                data = channel.recv(4096)
            except TimeoutError:
                continue
            if not data:
                return
            pending += data.decode("utf-8", "replace").replace("\x00", "")
            while (end := _line_end(pending)) is not None:
                line, pending = pending[:end], pending[end:].removeprefix("\r").removeprefix("\n")
                reply, close = session.feed(line)
                if reply:
                    channel.sendall(reply)
                if close:
                    return


def _line_end(text: str) -> int | None:
    ends = [index for index in (text.find("\r"), text.find("\n")) if index >= 0]
    return min(ends) if ends else None


@contextmanager
def running(fakes: dict[str, FakeVrp]) -> Iterator[dict[str, FakeVrp]]:
    """``fakes`` started, and stopped when the block ends, whatever the test did."""
    try:
        for fake in fakes.values():
            fake.start()
        yield fakes
    finally:
        for fake in fakes.values():
            fake.stop()
