"""Config trees, normalisation, redaction and plans (devices.confdiff).

``Device`` below is a small stateful model of a CLI in config mode: it applies a command
stream to a config tree and displays it the way real devices do (VRP/Comware re-encrypt
keys with a fresh salt on every display, IOS shows type-7 keys and "^C" banner
delimiters). The properties checked on it, for every sample and for random intents:
plan → apply → plan is empty; plan → apply → rollback → the original config; a push cut
off after any command → restore → the original config.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import confdiff
from devices.confdiff import Line, negation, normalise, parse, plan, redact, redact_line, restore
from devices.platforms import PROFILES, Profile, profile

SAMPLES = Path(__file__).parent / "samples"
VRP_LIKE = ("huawei", "hp_comware")

# What the tests treat as owned per platform (as the templates declare it).
OWNED = {
    "cisco_ios": ("ntp server", "logging host", "snmp-server community"),
    "frr": ("ip route 10.", "ip prefix-list CITYNET-GUEST"),
    "huawei": ("ntp-service unicast-server", "info-center loghost", "snmp-agent community"),
    "hp_comware": ("ntp-service unicast-server", "info-center loghost", "snmp-agent community"),
    "ruijie_os": ("ntp server", "logging server", "snmp-server community"),
}

# The device's grammar, as far as the model needs it: which commands open a section.
SECTIONS = {
    "cisco": re.compile(r"^(?:interface |vlan \d+$|router |address-family |line |ip access-list "
                        r"|radius server )"),
    "vrp": re.compile(r"^(?:interface |vlan \d+$|radius-server template |radius scheme |aaa$"
                      r"|authentication-scheme |accounting-scheme |authorization-scheme "
                      r"|domain \S+$|acl |url-template |user-interface |line |local-user \S+ "
                      r"class |authentication-profile )"),
}


def sample(name: str, kind: str = "cfg") -> str:
    return (SAMPLES / f"{name}.{kind}").read_text()


@dataclass
class Node:
    text: str
    children: list[Node] = field(default_factory=list)


class Refused(Exception):
    """The model device refused a command (as VRP answers "Error: ...")."""


class Device:
    """A config-mode model of one device (see the module docstring)."""

    def __init__(self, running: str, prof: Profile) -> None:
        self.profile = prof
        self.family = "vrp" if prof.name in VRP_LIKE else "cisco"
        self.root = Node("", [self._node(line) for line in parse(running, prof)])
        self.salt = itertools.count()

    def _node(self, line: Line) -> Node:
        return Node(self._stored(line.text), [self._node(child) for child in line.children])

    def _stored(self, text: str) -> str:
        """VRP/Comware keep the clear key behind ciphertext (given as either)."""
        if self.family != "vrp":
            return text
        text = re.sub(r"\bsnmp-agent community (read|write) (?!cipher |simple )(\S+)",
                      r"snmp-agent community \1 cipher \2", text)
        return re.sub(r"\b(?:cipher|simple) (?:%\^%#(.*?)(?:~\d+)?%\^%#|(\S+))",
                      lambda m: f"cipher {m.group(1) or m.group(2)}", text)

    def apply(self, commands: list[str]) -> None:
        """One config-mode session: starts at the top, stops at a refused command."""
        stack = [self.root]
        for command in commands:
            if command == self.profile.exit_section:
                assert len(stack) > 1, "exit_section at the top level"
                stack.pop()
                continue
            entered = self._one(stack[-1], self._stored(command))
            if entered is not None:
                stack.append(entered)

    def _one(self, section: Node, command: str) -> Node | None:
        negate = self.profile.negate + " "
        if command.startswith(negate):
            self._negate(section, command[len(negate):], command)
            return None
        for node in section.children:
            if node.text == command:
                return node if SECTIONS[self.family].match(command) else None
        for node in section.children:
            if node.text == negate + command:  # "ip redirects" flips "no ip redirects"
                section.children.remove(node)
                return None
        slot = _keyed(self.profile, command)
        for node in section.children:
            if slot is not None and _keyed(self.profile, node.text) == slot:
                if self.family == "vrp":  # VRP/Comware: the old value must go first
                    raise Refused(f"Error: {slot!r} is configured, undo it first")
                node.text = command
                return None
        node = Node(command)
        section.children.append(node)
        return node if SECTIONS[self.family].match(command) else None

    def _negate(self, section: Node, target: str, command: str) -> None:
        for node in section.children:
            if node.text == target or node.text.startswith(target + " "):
                section.children.remove(node)
                return
        if command in self.profile.hidden_defaults:
            return
        if self.family == "vrp":
            raise Refused(f"Error: {target!r} does not exist")
        section.children.append(Node(command))  # "no ip redirects" is a setting

    def show(self) -> str:
        """The running config as the device displays it."""
        return "\n".join(self._show(self.root.children, 0)) + "\n"

    def _show(self, nodes: list[Node], depth: int) -> list[str]:
        out = []
        for node in nodes:
            out.append(" " * depth + self._display(node.text))
            out.extend(self._show(node.children, depth + 1))
            if depth == 0 and self.family == "vrp":
                out.append("#")
        return out

    def _display(self, text: str) -> str:
        if self.family == "vrp":  # every key shown encrypted, with a fresh salt each time
            return re.sub(r"\bcipher (\S+)",
                          lambda m: f"cipher %^%#{m.group(1)}~{next(self.salt)}%^%#", text)
        if self.profile.name != "frr":  # service password-encryption; "^C" banners
            text = re.sub(r"\bkey (?![07] )(\S+)", lambda m: "key 7 " + m.group(1).encode().hex(),
                          text)
            text = re.sub(r"^(banner \S+ )\^(?!C)([^^]*)\^$", r"\1^C\2^C", text)
        return text


def _keyed(prof: Profile, text: str) -> str | None:
    for pattern in prof.keyed:
        found = re.match(pattern, text)
        if found:
            return found.group(0)
    return None


def canonical(text: str, prof: Profile) -> tuple[object, ...]:
    """A config compared regardless of line order, with re-salted ciphertext ignored."""
    def canon(lines: tuple[Line, ...]) -> tuple[object, ...]:
        return tuple(sorted((_unsalted(line.text), canon(line.children)) for line in lines))
    return canon(parse(normalise(text, prof), prof))


def _unsalted(text: str) -> str:
    return re.sub(r"~\d+(%\^%#)", r"\1", text)


# --- the samples, end to end ----------------------------------------------------------------

ALL = sorted(PROFILES)


@pytest.mark.parametrize("name", ALL)
def test_plan_then_apply_converges(name: str) -> None:
    prof = profile(name)
    device = Device(sample(name), prof)
    change = plan(sample(name, "intent"), device.show(), prof, OWNED[name])
    assert not change.empty
    device.apply(change.commands)
    assert plan(sample(name, "intent"), device.show(), prof, OWNED[name]).empty


@pytest.mark.parametrize("name", ALL)
def test_rollback_restores_the_original(name: str) -> None:
    prof = profile(name)
    device = Device(sample(name), prof)
    before = device.show()
    change = plan(sample(name, "intent"), before, prof, OWNED[name])
    device.apply(change.commands)
    assert canonical(device.show(), prof) != canonical(before, prof)
    device.apply(change.rollback)
    assert canonical(device.show(), prof) == canonical(before, prof)


@pytest.mark.parametrize("name", ALL)
def test_restore_after_a_push_cut_off_anywhere(name: str) -> None:
    prof = profile(name)
    intent = sample(name, "intent")
    pristine = Device(sample(name), prof)
    before = pristine.show()
    commands = plan(intent, before, prof, OWNED[name]).commands
    for cut in range(len(commands) + 1):
        device = Device(sample(name), prof)
        device.apply(commands[:cut])
        undo = restore(before, device.show(), intent, prof, OWNED[name])
        assert undo.empty == (cut == 0 or canonical(device.show(), prof)
                              == canonical(before, prof)), cut
        device.apply(undo.commands)
        assert canonical(device.show(), prof) == canonical(before, prof), cut
        assert restore(before, device.show(), intent, prof, OWNED[name]).empty, cut


@pytest.mark.parametrize("name", ALL)
def test_a_running_config_planned_against_itself_is_empty(name: str) -> None:
    prof = profile(name)
    running = sample(name)
    assert plan(running, running, prof, OWNED[name]).empty
    assert plan(running, Device(running, prof).show(), prof, OWNED[name]).empty


# --- what the command streams look like -----------------------------------------------------

HUAWEI = profile("huawei")
CISCO = profile("cisco_ios")
FRR = profile("frr")
COMWARE = profile("hp_comware")
RUIJIE = profile("ruijie_os")


def test_a_new_section_is_entered_filled_and_left() -> None:
    intent = ("interface Vlanif10\n ip address 10.10.0.1 255.255.255.0\n dhcp select relay\n")
    change = plan(intent, "#\nsysname S1\n#\nreturn\n", HUAWEI)
    assert change.commands == ["interface Vlanif10", "ip address 10.10.0.1 255.255.255.0",
                               "dhcp select relay", "quit"]
    assert change.rollback == ["undo interface Vlanif10"]
    assert change.added == ["+ interface Vlanif10", "+  ip address 10.10.0.1 255.255.255.0",
                            "+  dhcp select relay"]
    assert change.removed == []


RUNNING_VLANIF = """\
#
interface Vlanif10
 description guest
 ip address 10.10.0.1 255.255.255.0
 dhcp select relay
#
return
"""


def test_vrp_replaces_a_single_valued_line_by_undoing_it_first() -> None:
    intent = "interface Vlanif10\n description guest\n ip address 10.10.4.1 255.255.255.0\n" \
             " dhcp select relay\n"
    change = plan(intent, RUNNING_VLANIF, HUAWEI)
    assert change.commands == ["interface Vlanif10", "undo ip address 10.10.0.1 255.255.255.0",
                               "ip address 10.10.4.1 255.255.255.0", "quit"]
    assert change.rollback == ["interface Vlanif10", "undo ip address 10.10.4.1 255.255.255.0",
                               "ip address 10.10.0.1 255.255.255.0", "quit"]
    assert change.added == ["  interface Vlanif10", "+  ip address 10.10.4.1 255.255.255.0"]
    assert change.removed == ["  interface Vlanif10", "-  ip address 10.10.0.1 255.255.255.0"]


def test_vrp_undoes_a_description_by_its_short_form() -> None:
    intent = "interface Vlanif10\n description citynet guest\n ip address 10.10.0.1 " \
             "255.255.255.0\n dhcp select relay\n"
    assert plan(intent, RUNNING_VLANIF, HUAWEI).commands == [
        "interface Vlanif10", "undo description", "description citynet guest", "quit"]


def test_ios_overwrites_a_single_valued_line_in_place() -> None:
    running = "interface Vlan10\n description guest\n ip address 10.10.0.1 255.255.255.0\n!\nend\n"
    intent = "interface Vlan10\n description citynet guest\n ip address 10.10.4.1 255.255.255.0\n"
    change = plan(intent, running, CISCO)
    assert change.commands == ["interface Vlan10", "description citynet guest",
                               "ip address 10.10.4.1 255.255.255.0", "exit"]
    assert change.rollback == ["interface Vlan10", "ip address 10.10.0.1 255.255.255.0",
                               "description guest", "exit"]


def test_frr_adds_the_new_address_before_removing_the_old_one() -> None:
    running = "interface eth1\n ip address 10.10.0.1/24\nexit\n!\nend\n"
    change = plan("interface eth1\n ip address 10.10.4.1/24\n", running, FRR)
    assert change.commands == ["interface eth1", "ip address 10.10.4.1/24",
                               "no ip address 10.10.0.1/24", "exit"]


def test_an_ios_secondary_address_is_not_the_primary() -> None:
    running = "interface Vlan10\n ip address 10.10.0.1 255.255.255.0\n!\n"
    intent = ("interface Vlan10\n ip address 10.10.0.1 255.255.255.0\n"
              " ip address 10.11.0.1 255.255.255.0 secondary\n")
    assert plan(intent, running, CISCO).commands == [
        "interface Vlan10", "ip address 10.11.0.1 255.255.255.0 secondary", "exit"]


@pytest.mark.parametrize(("prof", "running", "intent", "owned", "commands"), [
    (CISCO, "ntp server 1.1.1.1\nntp server 3.3.3.3 prefer\nlogging host 9.9.9.9\n",
     "ntp server 2.2.2.2\n", ("ntp server",),
     ["ntp server 2.2.2.2", "no ntp server 3.3.3.3 prefer", "no ntp server 1.1.1.1"]),
    (HUAWEI, "#\nntp-service unicast-server 1.1.1.1\n#\n", "ntp-service unicast-server 2.2.2.2\n",
     ("ntp-service unicast-server",),
     ["ntp-service unicast-server 2.2.2.2", "undo ntp-service unicast-server 1.1.1.1"]),
    # Comware shows global commands indented by one space after a "#".
    (COMWARE, "#\n ntp-service enable\n ntp-service unicast-server 1.1.1.1\n#\n",
     "ntp-service unicast-server 2.2.2.2\n", ("ntp-service unicast-server",),
     ["ntp-service unicast-server 2.2.2.2", "undo ntp-service unicast-server 1.1.1.1"]),
    # Without the prefix owned, the old server stays.
    (CISCO, "ntp server 1.1.1.1\n", "ntp server 2.2.2.2\n", (), ["ntp server 2.2.2.2"]),
])
def test_owned_prefixes_replace_old_values(prof: Profile, running: str, intent: str,
                                           owned: tuple[str, ...], commands: list[str]) -> None:
    assert plan(intent, running, prof, owned).commands == commands


def test_nested_sections_are_left_one_level_at_a_time() -> None:
    running = """\
#
aaa
 authentication-scheme default
 local-user admin password irreversible-cipher $1a$abc$
#
return
"""
    intent = "aaa\n authentication-scheme citynet\n  authentication-mode radius\n"
    change = plan(intent, running, HUAWEI)
    assert change.commands == ["aaa", "authentication-scheme citynet", "authentication-mode radius",
                               "quit", "quit"]
    assert change.rollback == ["aaa", "undo authentication-scheme citynet", "quit"]


def test_frr_bgp_address_family() -> None:
    running = sample("frr")
    head = ("router bgp 65001\n bgp router-id 10.255.0.1\n no bgp ebgp-requires-policy\n"
            " neighbor 192.0.2.1 remote-as 65000\n")
    family = (" address-family ipv4 unicast\n  network 10.20.0.0/22\n  network 10.30.0.0/22\n"
              "  neighbor 192.0.2.1 prefix-list CITYNET-GUEST out\n exit-address-family\n")
    password = " neighbor 192.0.2.1 password BgpPeerS3cret\n"
    change = plan(head + password + family, running, FRR)
    assert change.commands == ["router bgp 65001", "address-family ipv4 unicast",
                               "network 10.30.0.0/22", "exit", "exit"]
    assert change.added == ["  router bgp 65001", "   address-family ipv4 unicast",
                            "+   network 10.30.0.0/22"]
    # "router bgp" is owned: a neighbour setting the intent lacks goes (in its short form,
    # which carries no secret), after the additions
    assert plan(head + family, running, FRR).commands == [
        "router bgp 65001", "address-family ipv4 unicast", "network 10.30.0.0/22", "exit",
        "no neighbor 192.0.2.1 password", "exit"]


def test_an_owned_section_loses_the_children_the_intent_lacks() -> None:
    running = "line vty 0 4\n exec-timeout 10 0\n transport input telnet ssh\n!\nend\n"
    change = plan("line vty 0 4\n exec-timeout 10 0\n transport input ssh\n", running, CISCO)
    assert change.commands == ["line vty 0 4", "transport input ssh",
                               "no transport input telnet ssh", "exit"]


def test_a_shared_section_keeps_what_the_intent_does_not_name() -> None:
    running = sample("huawei")
    intent = ("aaa\n domain citynet\n  authentication-scheme citynet\n"
              "  accounting-scheme citynet\n  radius-server citynet\n")
    assert plan(intent, running, HUAWEI).empty  # local users and default schemes stay


def test_a_top_level_section_is_never_removed_by_a_plan() -> None:
    running = "interface Vlan10\n ip address 10.1.1.1 255.255.255.0\n!\nntp server 1.1.1.1\n"
    assert plan("ntp server 1.1.1.1\n", running, CISCO, ("interface", "ntp")).empty


def test_restore_removes_a_section_the_push_created() -> None:
    before = "hostname a\n!\nend\n"
    now = "hostname b\n!\ninterface Vlan30\n ip address 10.30.0.1 255.255.255.0\n!\nend\n"
    intent = "hostname b\ninterface Vlan30\n ip address 10.30.0.1 255.255.255.0\n"
    assert restore(before, now, intent, CISCO).commands == ["hostname a", "no interface Vlan30"]
    # what the intent does not touch is not restored
    assert restore("hostname a\nip domain-name x\n", "hostname a\n", "hostname a\n", CISCO).empty


def test_restore_empties_an_frr_interface_the_kernel_owns_instead_of_removing_it() -> None:
    # FRR refuses "no interface lo" ("only inactive interfaces can be deleted")
    before = "log syslog informational\n!\nend\n"
    now = ("log syslog informational\n!\ninterface lo\n description guest WiFi\n"
           " ip address 10.9.9.9/32\nexit\n!\nend\n")
    undo = restore(before, now, now, FRR)
    assert undo.commands == ["interface lo", "no ip address 10.9.9.9/32", "no description",
                             "exit"]
    assert undo.rollback == ["interface lo", "description guest WiFi",
                             "ip address 10.9.9.9/32", "exit"]
    # an interface FRR still shows with no lines left needs nothing more
    assert restore(before, "interface lo\nexit\n", "interface lo\n", FRR).empty


@pytest.mark.parametrize(("prof", "running", "intent", "commands"), [
    # a hidden default holds when its positive form is absent ...
    (CISCO, "interface Gi1\n description x\n", "interface Gi1\n description x\n no shutdown\n",
     []),
    # ... and flips it when present
    (CISCO, "interface Gi1\n shutdown\n", "interface Gi1\n no shutdown\n",
     ["interface Gi1", "no shutdown", "exit"]),
    (HUAWEI, "interface GE0/0/1\n shutdown\n", "interface GE0/0/1\n undo shutdown\n",
     ["interface GE0/0/1", "undo shutdown", "quit"]),
    # a shown hidden default is never removed: that would shut the port
    (HUAWEI, "interface GE0/0/1\n undo shutdown\n description up\n",
     "interface GE0/0/1\n description up\n", []),
    # a negated setting the intent wants on flips in place
    (CISCO, "interface Vlan10\n no ip redirects\n", "interface Vlan10\n ip redirects\n",
     ["interface Vlan10", "ip redirects", "exit"]),
])
def test_negated_settings(prof: Profile, running: str, intent: str, commands: list[str]) -> None:
    assert plan(intent, running, prof).commands == commands


@pytest.mark.parametrize(("prof", "line", "command"), [
    (CISCO, "no ip redirects", "ip redirects"),
    (CISCO, "ntp server 1.1.1.1", "no ntp server 1.1.1.1"),
    (CISCO, "description citynet guest", "no description"),
    (CISCO, "hostname lh-agg-01", "no hostname"),
    (CISCO, "banner motd ^CHello^C", "no banner motd"),
    (CISCO, "enable secret 5 $1$abc", "no enable secret"),
    (CISCO, "username netops privilege 15 secret 9 $9$x", "no username netops"),
    (CISCO, "snmp-server community S3cret RO", "no snmp-server community S3cret"),
    (CISCO, "radius-server host 10.0.0.5 auth-port 1812 acct-port 1813 key 7 0822",
     "no radius-server host 10.0.0.5 auth-port 1812 acct-port 1813"),
    (RUIJIE, "snmp-server community 7 046e1803 RO", "no snmp-server community 7 046e1803"),
    (FRR, "no bgp ebgp-requires-policy", "bgp ebgp-requires-policy"),
    (FRR, "neighbor 192.0.2.1 password S3cret", "no neighbor 192.0.2.1 password"),
    (FRR, "password zebra", "no password"),
    (HUAWEI, "undo shutdown", "shutdown"),
    (HUAWEI, "description citynet guest", "undo description"),
    (HUAWEI, "sysname LH-AGG-01", "undo sysname"),
    (HUAWEI, "ip address 10.1.1.1 255.255.255.0", "undo ip address 10.1.1.1 255.255.255.0"),
    (HUAWEI, "radius-server shared-key cipher %^%#x%^%#", "undo radius-server shared-key"),
    (HUAWEI, 'header login information "Hi"', "undo header login"),
    (HUAWEI, "local-user admin password irreversible-cipher $1a$x$",
     "undo local-user admin password"),
    (COMWARE, "primary authentication 10.0.0.5 1812 key cipher $c$3$x",
     "undo primary authentication"),
    (COMWARE, "key authentication cipher $c$3$x", "undo key authentication"),
    (COMWARE, "sysname LH-ACC-07", "undo sysname"),
])
def test_negation(prof: Profile, line: str, command: str) -> None:
    assert negation(line, prof) == command


# --- secrets --------------------------------------------------------------------------------


def test_an_encrypted_running_key_is_not_resent() -> None:
    running = "radius server citynet\n address ipv4 10.0.0.5 auth-port 1812 acct-port 1813\n" \
              " key 7 0822455D0A16544541\n!\n"
    intent = "radius server citynet\n address ipv4 10.0.0.5 auth-port 1812 acct-port 1813\n" \
             " key S3cret\n"
    assert plan(intent, running, CISCO).empty
    rotate = plan(intent, running, CISCO, resend_secrets=True)
    assert rotate.commands == ["radius server citynet", "key S3cret", "exit"]
    assert rotate.rollback == ["radius server citynet", "key 7 0822455D0A16544541", "exit"]


def test_a_clear_text_secret_that_differs_is_a_change() -> None:
    running = "snmp-server community OldCommunity RO\n"
    change = plan("snmp-server community NewCommunity RO\n", running, CISCO,
                  ("snmp-server community",))
    assert change.commands == ["snmp-server community NewCommunity RO",
                               "no snmp-server community OldCommunity"]
    assert plan("radius-server host 1.1.1.1 key Plain1\n",
                "radius-server host 1.1.1.1 key Plain2\n", CISCO).commands == [
        "radius-server host 1.1.1.1 key Plain1"]


def test_vrp_cipher_churn_is_not_a_change() -> None:
    intent = "radius-server template citynet\n radius-server shared-key cipher S3cret\n"
    for salt in ("%^%#a1%^%#", "%^%#b2 with space%^%#"):
        running = f"radius-server template citynet\n radius-server shared-key cipher {salt}\n"
        assert plan(intent, running, HUAWEI).empty
        assert restore(running, running.replace(salt, "%^%#c3%^%#"), intent, HUAWEI).empty


# Lines with a secret, and the secret that must not survive redaction.
SECRET_LINES = [
    (CISCO, "radius-server host 1.2.3.4 key 7 0822455D0A16", "0822455D0A16"),
    (CISCO, "radius-server host 1.2.3.4 auth-port 1812 acct-port 1813 key S3cretK", "S3cretK"),
    (CISCO, " key 7 0822455D0A16544541", "0822455D0A16544541"),
    (CISCO, "radius-server key 0 PlainKey1", "PlainKey1"),
    (CISCO, "tacacs-server key TacKey", "TacKey"),
    (CISCO, "snmp-server community SECRETCOMM RO", "SECRETCOMM"),
    (CISCO, "snmp-server host 10.0.0.9 version 2c TrapComm", "TrapComm"),
    (CISCO, "snmp-server user mon grp v3 auth sha AuthPass1 priv aes 128 PrivPass1", "AuthPass1"),
    (CISCO, "snmp-server user mon grp v3 auth sha AuthPass1 priv aes 128 PrivPass1", "PrivPass1"),
    (CISCO, "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"),
    (CISCO, "enable password 7 0822455D", "0822455D"),
    (CISCO, "username netops privilege 15 secret 9 $9$nhEmQ$X.Hs", "$9$nhEmQ$X.Hs"),
    (CISCO, "username guest password 0 GuestPass", "GuestPass"),
    (CISCO, " ip ospf message-digest-key 1 md5 7 04580A", "04580A"),
    (CISCO, "ntp authentication-key 1 md5 NtpKey 7", "NtpKey"),
    (CISCO, " key-string 7 110A1016141D", "110A1016141D"),
    (CISCO, " wpa-psk ascii 0 WifiPass123", "WifiPass123"),
    (FRR, "password zebra", "zebra"),
    (FRR, "enable password Zebra-Enable", "Zebra-Enable"),
    (FRR, " neighbor 192.0.2.1 password BgpS3cret", "BgpS3cret"),
    (FRR, " ip ospf authentication-key OspfKey", "OspfKey"),
    (RUIJIE, "username netops privilege 15 password 7 0334550c2b", "0334550c2b"),
    (RUIJIE, "snmp-server community 7 046e1803362c2f RO", "046e1803362c2f"),
    (RUIJIE, " security wpa akm psk set-key ascii GuestWifi88", "GuestWifi88"),
    (HUAWEI, " radius-server shared-key cipher %^%#q`G1K!d5@X hY=3%^%#", "q`G1K!d5@X hY=3"),
    (HUAWEI, " radius-server shared-key cipher PlainKey", "PlainKey"),
    (HUAWEI, " local-user netops password irreversible-cipher $1a$N=Hk3J$", "$1a$N=Hk3J$"),
    (HUAWEI, " local-user old password cipher OldPass1", "OldPass1"),
    (HUAWEI, "snmp-agent community read cipher %^%#h8Jx~,0qY%^%#", "h8Jx~,0qY"),
    (HUAWEI, "snmp-agent community write PublicRW", "PublicRW"),
    (HUAWEI, "snmp-agent usm-user v3 mon authentication-mode sha cipher Au1 privacy-mode aes128 "
             "cipher Pr2", "Pr2"),
    (HUAWEI, " set authentication password cipher %^%#vtyPw%^%#", "vtyPw"),
    (HUAWEI, " shared-key cipher %^%#portalKey%^%#", "portalKey"),
    (HUAWEI, " security wpa2 psk pass-phrase %^%#wifiPw%^%# aes", "wifiPw"),
    (HUAWEI, " ospf authentication-mode simple cipher OspfPw", "OspfPw"),
    (HUAWEI, " radius-server testuser username t1 password cipher %^%#tPw%^%#", "tPw"),
    (COMWARE, " primary authentication 10.0.0.5 1812 key cipher $c$3$rXKV+kA=", "$c$3$rXKV+kA="),
    (COMWARE, " primary accounting 10.0.0.5 1813 key simple AcctKey", "AcctKey"),
    (COMWARE, " key authentication simple AuthKey", "AuthKey"),
    (COMWARE, " key accounting PlainAcct", "PlainAcct"),
    (COMWARE, " password hash $h$6$Cq4XU2x7mS$mXCt2==", "$h$6$Cq4XU2x7mS$mXCt2=="),
    (COMWARE, "super password role network-admin hash $h$6$superHash", "$h$6$superHash"),
    (COMWARE, "snmp-agent community read simple PublicRO", "PublicRO"),
    (COMWARE, " preshared-key pass-phrase simple WifiPw99", "WifiPw99"),
]


@pytest.mark.parametrize(("prof", "line", "secret"), SECRET_LINES)
def test_redact_line_hides_the_secret(prof: Profile, line: str, secret: str) -> None:
    shown = redact_line(line, prof)
    assert secret not in shown
    assert confdiff.REDACTED in shown
    assert redact(f"{line}\nhostname x\n", prof) == f"{shown}\nhostname x\n"


@pytest.mark.parametrize(("prof", "line", "shown"), [
    (CISCO, "radius-server host 1.2.3.4 key 7 XXX", "radius-server host 1.2.3.4 key <redacted>"),
    (CISCO, "snmp-server community SECRET RO", "snmp-server community <redacted> RO"),
    (HUAWEI, "radius-server shared-key cipher %^%#a b%^%#",
     "radius-server shared-key <redacted>"),
    (COMWARE, "key authentication cipher $c$3$x", "key authentication <redacted>"),
    # the key number and the hash name are not secret
    (FRR, " ip ospf message-digest-key 1 md5 S3cr3t",
     " ip ospf message-digest-key 1 md5 <redacted>"),
    (CISCO, " ip ospf message-digest-key 12 md5 7 0822455D0A16",
     " ip ospf message-digest-key 12 md5 <redacted>"),
    (CISCO, "ntp authentication-key 1 md5 S3cr3t 7", "ntp authentication-key 1 md5 <redacted>"),
    (FRR, " isis password md5 IsisS3cret", " isis password md5 <redacted>"),
    (FRR, " ip ospf authentication-key S3cr3t", " ip ospf authentication-key <redacted>"),
    # lines without a secret are left alone
    (CISCO, "service password-encryption", "service password-encryption"),
    (CISCO, "key chain OSPF", "key chain OSPF"),
    (CISCO, "aaa authentication login default group radius local",
     "aaa authentication login default group radius local"),
    (HUAWEI, "authentication-mode radius", "authentication-mode radius"),
    (HUAWEI, "radius-server authentication 10.0.0.5 1812 weight 80",
     "radius-server authentication 10.0.0.5 1812 weight 80"),
])
def test_redact_line_exactly(prof: Profile, line: str, shown: str) -> None:
    assert redact_line(line, prof) == shown


SAMPLE_SECRETS = {
    "cisco_ios": ["0822455D0A16544541", "3ubKX8wq", "N3wCommunity", "S3cretRadiusKey",
                  "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"],
    "frr": ["zebra", "Zebra-Enable-2024", "BgpPeerS3cret"],
    "huawei": ["q`G1K!d5@XhY=3H)Wz:/N+j$7Ue{b8#", "h8Jx~,0qY$}5`T]gE", "S3cretRadiusKey",
               'N=Hk3J)Wq~$RG1e/"z%yX7^aT:Ow,D6r+0b'],
    "hp_comware": ["rXKVE9pG05Lda2xcSpl6nrsYCkmBIW0kAdw=", "W9+fxyFbOCWdeX2MeXk5N8D7Wk3nO8Yx",
                   "N3wCommunity", "S3cretRadiusKey"],
    "ruijie_os": ["0334550c2b1f3a32", "046e1803362c2f", "0822455d0a16", "S3cretRadiusKey"],
}


@pytest.mark.parametrize("name", ALL)
def test_no_secret_survives_redaction_of_configs_and_plans(name: str) -> None:
    prof = profile(name)
    running, intent = sample(name), sample(name, "intent")
    change = plan(intent, running, prof, OWNED[name], resend_secrets=True)
    everything = [running, intent, *change.commands, *change.rollback, *change.added,
                  *change.removed]
    assert any(secret in text for text in everything for secret in SAMPLE_SECRETS[name])
    for secret in SAMPLE_SECRETS[name]:
        assert secret not in redact(running, prof)
        assert secret not in redact(intent, prof)
        for text in everything:
            assert secret not in redact_line(text, prof), text


# --- reading and normalising ----------------------------------------------------------------


def test_parse_drops_comments_closers_and_volatile_lines() -> None:
    tree = parse(sample("frr"), FRR)
    texts = [line.text for line in tree]
    assert texts[:3] == ["hostname lh-core-01", "log syslog informational",
                         "no ipv6 forwarding"]
    assert not any(t.startswith(("frr version", "Building", "Current", "!", "end", "exit"))
                   for t in texts)
    bgp = next(line for line in tree if line.text == "router bgp 65001")
    family = next(line for line in bgp.children if line.text == "address-family ipv4 unicast")
    assert [c.text for c in family.children] == [
        "network 10.20.0.0/22", "neighbor 192.0.2.1 prefix-list CITYNET-GUEST out"]


def test_parse_comware_global_lines_and_literal_blocks() -> None:
    tree = {line.text: line for line in parse(sample("hp_comware"), COMWARE)}
    assert "sysname LH-S5130-ACC07" in tree
    assert "ntp-service unicast-server 10.0.0.1" in tree
    assert not any(text.startswith("version ") for text in tree)
    assert "header motd %\nAuthorised access only.\n%" in tree
    assert [c.text for c in tree["local-user netops class manage"].children][1:] == [
        "service-type ssh", "authorization-attribute user-role network-admin"]


def test_parse_merges_a_section_opened_twice() -> None:
    tree = parse("interface Vlan10\n description a\n!\ninterface Vlan10\n shutdown\n", CISCO)
    assert tree == (Line("interface Vlan10", (Line("description a"), Line("shutdown"))),)


def test_banner_delimiters_do_not_matter() -> None:
    running = "banner motd ^CAuthorised access only.^C\n"
    assert plan("banner motd ^Authorised access only.^\n", running, CISCO).empty
    assert plan("banner motd #Authorised access only.#\n", running, CISCO).empty
    assert plan("banner motd ^Citynet WiFi^\n", "banner motd ^CCitynet WiFi^C\n", CISCO).empty
    assert plan("banner motd ^Other^\n", running, CISCO).commands == ["banner motd ^Other^"]


def test_normalise_drops_volatile_lines_and_churn() -> None:
    device = Device(sample("huawei"), HUAWEI)
    first, second = device.show(), device.show()
    assert first != second  # the model re-salts, like VRP
    assert normalise(first, HUAWEI) == normalise(second, HUAWEI)
    text = normalise(sample("huawei"), HUAWEI)
    assert "!Software Version" not in text and "!Last configuration" not in text
    assert "radius-server shared-key cipher <cipher>" in text
    assert "local-user netops password irreversible-cipher <cipher>" in text
    assert "#\n#" not in text and "\n\n" not in text


def test_normalise_keeps_real_changes_and_collapses_separators() -> None:
    text = "Building configuration...\n\nCurrent configuration : 99 bytes\n!\n!\n!   \n" \
           "hostname a   \n!\nntp clock-period 17179860\nntp server 1.1.1.1\nend\n"
    assert normalise(text, CISCO) == "!\nhostname a\n!\nntp server 1.1.1.1\nend\n"
    assert normalise(text, CISCO) != normalise(text.replace("1.1.1.1", "1.1.1.2"), CISCO)
    comware = "#\n version 7.1.070, Release 6343P06\n#\n sysname a\n#\n"
    assert normalise(comware, COMWARE) == "#\n sysname a\n#\n"
    frr = "Current configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\nhostname r1\n"
    assert normalise(frr, FRR) == "!\nhostname r1\n"


def test_render_round_trips() -> None:
    for name in ALL:
        prof = profile(name)
        tree = parse(sample(name), prof)
        assert parse(confdiff.render(tree, prof), prof) == tree


# --- random intents -------------------------------------------------------------------------

IOS_RUNNING = sample("cisco_ios")
VRP_RUNNING = sample("huawei")


@st.composite
def ios_intents(draw: st.DrawFn) -> str:
    lines = [f"hostname {draw(st.sampled_from(['lh-agg-01', 'lh-agg-02']))}"]
    lines += [f"ntp server 10.0.0.{n}" for n in draw(st.sets(st.integers(1, 4), max_size=3))]
    vlan = draw(st.sampled_from([10, 20, 30]))
    lines.append(f"interface Vlan{vlan}")
    if draw(st.booleans()):
        lines.append(f" description {draw(st.sampled_from(['staff', 'guest', 'citynet']))}")
    lines.append(f" ip address 10.{vlan}.{draw(st.integers(0, 2))}.1 255.255.255.0")
    lines += [f" ip helper-address 10.0.0.{n}"
              for n in draw(st.sets(st.integers(52, 54), max_size=2))]
    if draw(st.booleans()):
        lines.append(" no ip redirects")
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from([" shutdown", " no shutdown"])))
    if draw(st.booleans()):
        lines += ["line vty 0 4", " transport input ssh",
                  f" exec-timeout {draw(st.integers(5, 10))} 0"]
    return "\n".join(lines) + "\n"


@st.composite
def vrp_intents(draw: st.DrawFn) -> str:
    lines = [f"sysname {draw(st.sampled_from(['LH-S5735-AGG01', 'LH-S5735-AGG02']))}"]
    lines += [f"ntp-service unicast-server 10.0.0.{n}"
              for n in draw(st.sets(st.integers(1, 4), max_size=3))]
    vlan = draw(st.sampled_from([10, 20, 30]))
    lines.append(f"interface Vlanif{vlan}")
    if draw(st.booleans()):
        lines.append(f" description {draw(st.sampled_from(['staff', 'guest', 'citynet']))}")
    lines.append(f" ip address 10.{vlan}.{draw(st.integers(0, 2))}.1 255.255.255.0")
    if draw(st.booleans()):
        lines += [" dhcp select relay", f" dhcp relay server-ip 10.0.0.{draw(st.integers(52, 54))}"]
    lines += ["radius-server template citynet",
              f" radius-server shared-key cipher {draw(st.sampled_from(['K1', 'K2']))}",
              f" radius-server authentication 10.0.0.{draw(st.integers(5, 6))} 1812 weight 80"]
    if draw(st.booleans()):
        lines += ["aaa", " authentication-scheme citynet",
                  f"  authentication-mode {draw(st.sampled_from(['radius', 'radius local']))}"]
    return "\n".join(lines) + "\n"


def _round_trip(intent: str, running: str, prof: Profile, owned: tuple[str, ...]) -> None:
    device = Device(running, prof)
    before = device.show()
    change = plan(intent, before, prof, owned)
    device.apply(change.commands)
    assert plan(intent, device.show(), prof, owned).empty
    device.apply(change.rollback)
    assert canonical(device.show(), prof) == canonical(before, prof)


@settings(max_examples=150, deadline=None)
@given(ios_intents())
def test_random_ios_intents_converge_and_roll_back(intent: str) -> None:
    _round_trip(intent, IOS_RUNNING, CISCO, OWNED["cisco_ios"])


@settings(max_examples=150, deadline=None)
@given(vrp_intents())
def test_random_vrp_intents_converge_and_roll_back(intent: str) -> None:
    _round_trip(intent, VRP_RUNNING, HUAWEI, OWNED["huawei"])


@settings(max_examples=100, deadline=None)
@given(vrp_intents(), st.integers(0, 40))
def test_random_vrp_pushes_cut_off_restore(intent: str, cut: int) -> None:
    device = Device(VRP_RUNNING, HUAWEI)
    before = device.show()
    device.apply(plan(intent, before, HUAWEI, OWNED["huawei"]).commands[:cut])
    device.apply(restore(before, device.show(), intent, HUAWEI, OWNED["huawei"]).commands)
    assert canonical(device.show(), HUAWEI) == canonical(before, HUAWEI)
