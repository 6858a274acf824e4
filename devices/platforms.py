"""Platform profiles: what citynet knows about each device CLI, kept as data.

One ``Profile`` per inventory platform. ``devices.confdiff`` reads its tables (comments,
volatile lines, secrets, negation forms) and ``devices.driver`` its commands and prompts;
neither holds a vendor ``if``. The regexes are matched against one *stripped* config line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Profile:
    """One device CLI family (see the module docstring)."""

    name: str  # inventory Platform value
    netmiko_type: str  # netmiko device_type
    show_running: str
    enter_config: str
    exit_config: str
    exit_section: str  # leaves one section level
    negate: str  # "no" | "undo"
    save: str
    save_confirm: str | None  # regex of the save confirmation prompt; None if it asks nothing
    save_answer: str
    comment: str  # a line starting with this is a comment or a section separator
    indent: int  # child indentation step in the running config
    error_patterns: tuple[str, ...]  # a command's reply matching one was refused
    volatile: tuple[str, ...]  # lines that change without a config change
    secret_patterns: tuple[re.Pattern[str], ...]  # named group "secret": a key or password
    # A running config's secret value (a "secret" group's text) in a form the device made
    # (encrypted or hashed): it cannot be compared with the clear value of an intent.
    encrypted_value: str = r"(?!)"
    # --- additions to the shared design, all read by devices.confdiff -------------------
    # Lines that only close a section ("end", "exit", "quit", "return"): syntax, not config.
    closers: tuple[str, ...] = ()
    # Secret values the device re-encrypts with a fresh salt on every display (named
    # group "secret"); normalise() replaces them with CIPHER so they do not show as changes.
    churn_patterns: tuple[re.Pattern[str], ...] = ()
    # Single-valued commands: the match (group 0) is the command's identity in its section.
    # The device holds one line per identity; a new value replaces the old one.
    keyed: tuple[str, ...] = ()
    # True: replace a keyed line by negating the old one first (VRP/Comware refuse some
    # overwrites). False: send the new line only; the device overwrites in place (sending
    # "no <old>" afterwards would remove the new value on IOS).
    replace_negating_first: bool = False
    # Lines whose negation takes the short form: the match (group 0) after the negate word
    # ("undo description", not "undo description Guest WiFi").
    short_negation: tuple[str, ...] = ()
    # Negated defaults the device may not display ("no shutdown"): an intent line of this
    # kind holds when the positive form is absent, and such a running line is never removed.
    hidden_defaults: tuple[str, ...] = ()
    # Sections that are shared namespaces (VRP "aaa" holds local users and every scheme):
    # children an intent does not list are left alone, even though the intent names them.
    shared_sections: tuple[str, ...] = ()
    # Sections the device will not delete while something outside the config owns them
    # (FRR refuses ``no interface lo``: the kernel owns the interface): removing one
    # removes its lines and leaves the header, which the device then shows no more.
    kept_sections: tuple[str, ...] = ()
    # A multi-line literal (banner/header): named group "delim" opens it; the block runs to
    # the next occurrence of the delimiter.
    literal_block: str | None = None
    # Extra ConnectHandler arguments as (name, value) pairs (a tuple keeps Profile hashable;
    # ``dict.update`` takes it as it is).
    netmiko_options: tuple[tuple[str, Any], ...] = ()
    # Prompts of config mode and of the view it returns to (regexes). When set, the driver
    # enters and leaves config mode by these instead of netmiko's mode check, which waits
    # for two seconds of silence on VRP/Comware every time.
    config_prompt: str | None = None
    exec_prompt: str | None = None
    # Characters the CLI reads as keys, not as text, and what each does there: an intent
    # value holding one is refused at plan time (sent, "?" lists help mid-line and the
    # command never completes, so the push stalls until its timeout).
    cli_keys: tuple[tuple[str, str], ...] = ()
    # --- device state (devices.state): read-only display commands ----------------------
    # The platform name ntc-templates files this CLI's TextFSM templates under; None: no
    # template fits (devices.state parses the text itself).
    textfsm_platform: str | None = None
    show_interfaces: str = ""  # up/down (and counters where shown) of every interface
    show_cpu: str | None = None
    show_aps: str | None = None  # on a WLAN controller: its access points and their state


# IOS, RGOS, vtysh, VRP and Comware alike: "?" is the help key, Tab completes a word,
# Ctrl-C and Ctrl-Z leave the line or config mode, and a line break ends the command, so
# what follows it in a value runs as a command of its own.
_CLI_KEYS = (("?", "the help key"), ("\t", "word completion"), ("\x03", "Ctrl-C: abort"),
             ("\x1a", "Ctrl-Z: leave config mode"),
             ("\n", "a line break: the rest runs as a command of its own"),
             ("\r", "a line break: the rest runs as a command of its own"))

CIPHER = "<cipher>"  # what normalise() puts in place of churned ciphertext


def _secrets(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


# A secret value: VRP ciphertext between %^%# markers may hold any character but is never
# empty; anything else runs to the next space.
_VALUE = r"(?:%\^%#.*?%\^%#|\S+)"

# --- Cisco-like CLIs (IOS, Ruijie RGOS, FRR vtysh) ----------------------------------------

_CISCO_SECRETS = _secrets(
    # radius-server host ... key [7] V, radius server X / key 7 V, tacacs, key-string, etc.
    # The optional type digit belongs to the secret: "key S" and "key 7 E" hold one value.
    # "message-digest-key N md5 S" and "authentication-key N md5 S" are the next two
    # patterns' (the key number and the hash name are not secret); a hash name before
    # the value ("isis password md5 S") is not secret either.
    r"\b(?<!digest-)(?:key|key-string|secret|password|authentication-key)\s+(?!chain\b)"
    r"(?!\d+\s+md5\s)(?:(?:md5|clear)\s+)?(?P<secret>(?:\d{1,2}\s+)?\S+)",
    r"\bntp authentication-key \d+ md5 (?P<secret>\S+(?:\s+\d)?)",
    r"\bmessage-digest-key \d+ md5 (?P<secret>(?:\d\s+)?\S+)",
    r"\bsnmp-server community (?P<secret>(?:\d\s+)?\S+)",
    r"\bsnmp-server host \S+(?:\s+(?:informs|traps))?(?:\s+version\s+(?:1|2c|3\s+\S+))?"
    r"\s+(?P<secret>\S+)",
    r"\b(?:auth\s+(?:md5|sha)|priv\s+(?:des|3des|aes(?:\s+\d+)?))\s+(?P<secret>\S+)",
    r"\b(?:wpa-psk|set-key)\s+(?:ascii|hex)\s+(?P<secret>(?:\d\s+)?\S+)",
)

_CISCO_ERRORS = (r"^% ", r"^\s*\^$")  # "% Invalid input ..." and IOS's caret marker line

_CISCO_LITERAL = r"^banner \S+ (?P<delim>\^C|\S)"

_CISCO_SHORT_NEGATION = (
    r"^description\b", r"^hostname\b", r"^banner \S+", r"^snmp-server (?:location|contact)\b",
    r"^enable (?:secret|password)\b", r"^username \S+", r"^ip domain[- ]name\b",
    r"^radius-server host \S+(?: auth-port \d+)?(?: acct-port \d+)?",
    r"^snmp-server community (?:\d\s+)?\S+", r"^key\b", r"^clock timezone\b",
)

_CISCO_KEYED = (
    r"^description\b", r"^hostname\b", r"^banner \S+", r"^ip address(?= \S+ \S+$)",
    r"^snmp-server (?:location|contact)\b", r"^enable secret\b", r"^username \S+",
    r"^radius-server host \S+(?: auth-port \d+)?(?: acct-port \d+)?", r"^key\b",
    r"^address ipv4\b", r"^switchport access vlan\b", r"^name\b", r"^clock timezone\b",
)

# A switch's physical ports are the site's (VLAN, description, speed): an intent that names
# one (the nac template's 802.1X lines) owns only the lines it lists there.
_CISCO_PORTS = (r"^interface \S*(?:Ethernet|GigE) ?\d",)

_CISCO_NAC_KEYED = (r"^authentication timer reauthenticate\b", r"^aaa accounting update\b",
                    r"^port(?= \d+$)", r"^dot1x timeout re-authperiod\b")

# Type 0 is clear text; 5, 7, 8, 9 (and 6) are hashes or encryptions the device made.
_CISCO_ENCRYPTED = r"^[1-9]\d?\s"
_VRP_ENCRYPTED = r"^(?:(?:cipher|irreversible-cipher)\s|hash\s|%\^%#|\$)"

CISCO_IOS = Profile(
    name="cisco_ios", netmiko_type="cisco_ios", show_running="show running-config",
    enter_config="configure terminal", exit_config="end", exit_section="exit", negate="no",
    save="write memory", save_confirm=None, save_answer="y", comment="!", indent=1,
    error_patterns=_CISCO_ERRORS,
    volatile=(r"^Building configuration", r"^Current configuration\s*:",
              r"^! (?:Last configuration change|NVRAM config last updated|No configuration "
              r"change since)", r"^ntp clock-period\b"),
    secret_patterns=_CISCO_SECRETS, encrypted_value=_CISCO_ENCRYPTED,
    closers=("end", "exit", "exit-address-family"),
    keyed=_CISCO_KEYED + _CISCO_NAC_KEYED, short_negation=_CISCO_SHORT_NEGATION,
    hidden_defaults=("no shutdown",), literal_block=_CISCO_LITERAL,
    shared_sections=_CISCO_PORTS,
    textfsm_platform="cisco_ios", show_interfaces="show interfaces",
    show_cpu="show processes cpu",
    cli_keys=_CLI_KEYS,
)

FRR = Profile(
    # netmiko's cisco_ios driver drives vtysh (docs/DESIGN.md field notes).
    name="frr", netmiko_type="cisco_ios", show_running="show running-config",
    enter_config="configure terminal", exit_config="end", exit_section="exit", negate="no",
    save="write memory", save_confirm=None, save_answer="y", comment="!", indent=1,
    error_patterns=(r"^% ", r"^\s*\^$"),  # "% Unknown command", "% Command incomplete", ...
    # The version lines change with a package upgrade, not with a config change.
    volatile=(r"^Building configuration", r"^Current configuration\s*:", r"^frr version\b",
              r"^frr defaults\b"),
    secret_patterns=_CISCO_SECRETS, encrypted_value=_CISCO_ENCRYPTED,
    closers=("end", "exit", "exit-address-family", "exit-vrf", "exit-vnc"),
    keyed=(r"^description\b", r"^hostname\b", r"^banner motd\b", r"^bgp router-id\b",
           r"^router-id\b", r"^log syslog\b", r"^password\b", r"^enable password\b",
           r"^neighbor \S+ (?:remote-as|description|password)\b"),
    short_negation=(r"^description\b", r"^hostname\b", r"^banner motd\b", r"^password\b",
                    r"^enable password\b", r"^log syslog\b", r"^bgp router-id\b",
                    r"^neighbor \S+ password\b"),
    hidden_defaults=("no shutdown",),
    kept_sections=(r"^interface\b",),
    # vtysh shows no counters on Linux and has no CPU figure (`show thread cpu` is per task)
    show_interfaces="show interface brief",
    cli_keys=_CLI_KEYS,
)

RUIJIE_OS = Profile(
    name="ruijie_os", netmiko_type="ruijie_os", show_running="show running-config",
    enter_config="configure terminal", exit_config="end", exit_section="exit", negate="no",
    save="write", save_confirm=None, save_answer="y", comment="!", indent=1,
    error_patterns=_CISCO_ERRORS,
    volatile=(r"^Building configuration", r"^Current configuration\s*:"),
    secret_patterns=_CISCO_SECRETS, encrypted_value=_CISCO_ENCRYPTED,
    closers=("end", "exit", "exit-address-family"),
    keyed=_CISCO_KEYED + _CISCO_NAC_KEYED, short_negation=_CISCO_SHORT_NEGATION,
    hidden_defaults=("no shutdown",), literal_block=_CISCO_LITERAL,
    # an AC's AP group holds the site's other WLAN mappings too
    shared_sections=(*_CISCO_PORTS, r"^ap-group\b"),
    cli_keys=_CLI_KEYS,
)

# --- VRP-like CLIs (Huawei VRP, H3C Comware) ----------------------------------------------

_VRP_SECRETS = _secrets(
    # cipher/simple/irreversible-cipher V covers shared-key, local-user password, snmp-agent
    # usm-user, set authentication password, web-auth-server shared-key, pass-phrase ...
    # The mode keyword belongs to the secret: "cipher S" (intent) and "cipher %^%#..%^%#"
    # (running) hold one value. A following mode keyword means this one is not a mode.
    r"\b(?P<secret>(?:cipher|simple|irreversible-cipher|plain)\s+(?!(?:cipher|simple)\b)"
    + _VALUE + ")",
    r"\bpassword\s+(?P<secret>hash\s+\S+)",  # "simple S" (intent) and "hash $h$..." hold one
    r"\bhash\s+(?P<secret>\$\S+)",
    r"\bsnmp-agent community (?:read|write)\s+(?!(?:cipher|simple)\b)(?P<secret>\S+)",
    r"\bpass-phrase\s+(?!(?:cipher|simple)\b)(?P<secret>" + _VALUE + ")",
    r"\bkey\s+(?:authentication|accounting|authorization)\s+(?!(?:cipher|simple)\b)"
    r"(?P<secret>\S+)",
)

# Single-valued lines of the nac template, undone by their leading part on VRP
_VRP_NAC_KEYED = (r"^dot1x timer reauthenticate-period\b",
                  r"^mac-authen timer reauthenticate-period\b", r"^accounting realtime\b",
                  r"^authentication-profile(?= \S+$)", r"^service-vlan vlan-id\b",
                  r"^ssid(?= \S+$)", r"^security(?= \S+ dot1x\b)")
_COMWARE_NAC_KEYED = (r"^dot1x timer reauth-period\b", r"^mac-authentication timer reauth-period\b",
                      r"^mac-authentication domain\b", r"^dot1x mandatory-domain\b",
                      r"^dot1x domain\b", r"^timer realtime-accounting\b",
                      r"^user-name-format\b", r"^ssid(?= \S+$)")
# Single-valued lines of guest_wifi's Portal-protocol binding, undone by their leading part
_VRP_PORTAL_KEYED = (r"^web-auth-server listening-port\b",)
_COMWARE_PORTAL_KEYED = (r"^portal domain\b", r"^portal bas-ip\b",
                         r"^portal apply web-server\b", r"^portal enable method\b")

_VRP_CHURN = _secrets(r"\b(?:cipher|irreversible-cipher)\s+(?P<secret>" + _VALUE + ")")

HUAWEI = Profile(
    name="huawei", netmiko_type="huawei", show_running="display current-configuration",
    enter_config="system-view", exit_config="return", exit_section="quit", negate="undo",
    save="save", save_confirm=r"\[Y/N\]", save_answer="y", comment="#", indent=1,
    error_patterns=(r"^Error:", r"^\s*\^$"),
    # "!Software Version V200R...", "!Last configuration was updated/saved at ...": every
    # "!" line is VRP's header commentary, never config.
    volatile=(r"^!",),
    secret_patterns=_VRP_SECRETS, churn_patterns=_VRP_CHURN, encrypted_value=_VRP_ENCRYPTED,
    closers=("return", "quit"),
    keyed=(r"^description\b", r"^sysname\b", r"^header \S+",
           r"^ip address(?= \S+ \S+$)", r"^radius-server shared-key\b", r"^url(?=\s)",
           r"^radius-server nas-ip\b", r"^dhcp select\b", r"^authentication-mode\b",
           r"^snmp-agent sys-info (?:contact|location)\b", r"^port link-type\b",
           r"^port default vlan\b", r"^local-user \S+ password\b", *_VRP_NAC_KEYED,
           *_VRP_PORTAL_KEYED),
    replace_negating_first=True,
    short_negation=(r"^description\b", r"^sysname\b", r"^header \S+",
                    r"^radius-server shared-key\b", r"^local-user \S+ password\b",
                    r"^snmp-agent sys-info (?:contact|location)\b", r"^url(?=\s)",
                    r"^radius-server nas-ip\b", r"^port link-type\b", r"^port default vlan\b",
                    *_VRP_NAC_KEYED, *_VRP_PORTAL_KEYED),
    hidden_defaults=("undo shutdown",),
    # the WLAN view and an AP group hold the site's other SSIDs and radios too; a
    # physical port's own settings are the site's (see _CISCO_PORTS)
    shared_sections=(r"^aaa$", r"^wlan$", r"^ap-group name ",
                     r"^interface (?:\S*Ethernet|\d+GE|MultiGE)\d"),
    literal_block=r"^header \S+(?: information)? (?P<delim>\S)",
    config_prompt=r"\][ \t]*$", exec_prompt=r">[ \t]*$",
    textfsm_platform="huawei_vrp", show_interfaces="display interface brief",
    show_cpu="display cpu-usage", show_aps="display ap all",
    cli_keys=_CLI_KEYS,
)

HP_COMWARE = Profile(
    name="hp_comware", netmiko_type="hp_comware", show_running="display current-configuration",
    enter_config="system-view", exit_config="return", exit_section="quit", negate="undo",
    # netmiko's hp_comware save_config sends "save force": no [Y/N] question.
    save="save force", save_confirm=None, save_answer="y", comment="#", indent=1,
    error_patterns=(r"^\s*% ", r"^Error:", r"^\s*\^$"),  # "% Unrecognized command found at ..."
    volatile=(r"^version \d+\.\d+\.\d+, ",),  # " version 7.1.070, Release 6533"
    secret_patterns=_VRP_SECRETS, churn_patterns=_VRP_CHURN, encrypted_value=_VRP_ENCRYPTED,
    closers=("return", "quit"),
    keyed=(r"^description\b", r"^sysname\b", r"^header \S+\b", r"^ip address(?= \S+ \S+$)",
           r"^nas-ip\b", r"^url(?=\s)", r"^dhcp select\b",
           r"^(?:primary|secondary) (?:authentication|accounting)\b",
           r"^key (?:authentication|accounting|authorization)\b",
           r"^snmp-agent sys-info (?:contact|location)\b", r"^port link-type\b",
           r"^port access vlan\b", r"^password\b", *_COMWARE_NAC_KEYED,
           *_COMWARE_PORTAL_KEYED),
    replace_negating_first=True,
    short_negation=(r"^description\b", r"^sysname\b", r"^header \S+\b", r"^nas-ip\b",
                    r"^url(?=\s)", r"^(?:primary|secondary) (?:authentication|accounting)\b",
                    r"^key (?:authentication|accounting|authorization)\b",
                    r"^snmp-agent sys-info (?:contact|location)\b", r"^password\b",
                    r"^port link-type\b", r"^port access vlan\b", *_COMWARE_NAC_KEYED,
                    *_COMWARE_PORTAL_KEYED),
    hidden_defaults=("undo shutdown",),
    # a physical port's own settings are the site's (see _CISCO_PORTS)
    shared_sections=(r"^interface \S*(?:Ethernet|GigE)\d",),
    literal_block=r"^header \S+ (?P<delim>\S)",
    config_prompt=r"\][ \t]*$", exec_prompt=r">[ \t]*$",
    textfsm_platform="hp_comware", show_interfaces="display interface brief",
    show_cpu="display cpu-usage",
    cli_keys=_CLI_KEYS,
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {p.name: p for p in (CISCO_IOS, FRR, HUAWEI, HP_COMWARE, RUIJIE_OS)})


def profile(name: str) -> Profile:
    """The profile of inventory platform ``name``."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"no device profile for platform {name!r} (known: {known})") from None
