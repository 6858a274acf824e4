"""The fake VRP / Comware device, driven by netmiko's real ``huawei`` and ``hp_comware``
drivers (unmodified), plus its configuration model driven line by line without SSH."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from tests.fakes.vrp import CliSession, FakeVrp
from tests.support import wait_until

VRP_CONFIG = """\
!Software Version V200R019C10SPC500
#
 sysname SW1
#
 vlan batch 10 20
#
aaa
 authentication-scheme default
 local-user admin password irreversible-cipher $1a$Q2l0eU5ldEZha2VIYXNo$
 local-user admin privilege level 15
#
radius-server template citynet
 radius-server shared-key cipher %^%#Q2l0eU5ldEZha2VDaXBoZXI%^%#
 radius-server authentication 10.0.0.5 1812 weight 80
#
interface Vlanif20
 ip address 10.20.0.1 255.255.255.0
#
interface GigabitEthernet0/0/1
 port link-type trunk
#
user-interface con 0
user-interface vty 0 4
 authentication-mode aaa
 protocol inbound ssh
#
return
"""

COMWARE_CONFIG = """\
#
 version 7.1.070, Release 6348
#
 sysname SW1
#
vlan 20
 name staff
#
interface Vlan-interface20
 ip address 10.20.0.1 255.255.255.0
#
radius scheme citynet
 primary authentication 10.0.0.5
 key authentication cipher $c$3$Q2l0eU5ldEZha2VDaXBoZXI==
#
local-user admin class manage
 password hash $h$6$Q2l0eU5ldEZha2VIYXNo==
 service-type ssh
#
line vty 0 63
 authentication-mode scheme
#
return
"""


@dataclass(frozen=True)
class Case:
    flavour: str
    device_type: str
    config: str
    interface: str         # a logical interface the tests create
    existing: str          # a logical interface the initial config has
    error: str             # what the device prints before "Unrecognized command ..."
    error_pattern: str     # netmiko's error_pattern that catches refusals
    paging: str            # what the driver sends to turn paging off
    saved: str             # the line a successful save ends with
    save_dialogue: tuple[tuple[str, str], ...]  # (answer, what the device asks next)


# error_pattern ends in ".*$" so that netmiko's exception quotes the whole refusal line.
VRP = Case("huawei", "huawei", VRP_CONFIG, "Vlanif10", "Vlanif20", "Error: ", r"^Error: .*$",
           "screen-length 0 temporary", "Save the configuration successfully.",
           (("save", r"\[Y/N\]"), ("y", r"<SW1>")))
COMWARE = Case("h3c", "hp_comware", COMWARE_CONFIG, "Vlan-interface10", "Vlan-interface20",
               " % ", r"^\s*% .*$", "screen-length disable",
               "Saved the current configuration to mainboard device successfully.",
               (("save", r"\[Y/N\]:"), ("y", r"enter key\):"), ("", r"overwrite\? \[Y/N\]:"),
                ("y", r"<SW1>")))
CASES = [pytest.param(VRP, id="huawei"), pytest.param(COMWARE, id="h3c")]


class Lab:
    """Fakes and netmiko connections a test opened; all closed at teardown."""

    def __init__(self) -> None:
        self.fakes: list[FakeVrp] = []
        self.connections: list[BaseConnection] = []

    def start(self, case: Case, **knobs: Any) -> FakeVrp:
        fake = FakeVrp(case.flavour, initial_config=case.config, **knobs)
        self.fakes.append(fake)
        return fake.start()

    def connect(self, fake: FakeVrp, case: Case, **options: Any) -> BaseConnection:
        options = {"username": "admin", "password": "admin", **options}
        connection = ConnectHandler(device_type=case.device_type, host="127.0.0.1",
                                    port=fake.port, **options)
        self.connections.append(connection)
        return connection

    def close(self) -> None:
        for connection in self.connections:
            connection.disconnect()
        for fake in self.fakes:
            fake.stop()


@pytest.fixture
def lab() -> Iterator[Lab]:
    opened = Lab()
    try:
        yield opened
    finally:
        opened.close()


def send(connection: BaseConnection, command: str, **options: Any) -> str:
    """``send_command`` without parsing, which always gives text."""
    output = connection.send_command(command, **options)
    assert isinstance(output, str)
    return output


def typed(fake: FakeVrp, *lines: str) -> list[str]:
    """Type lines into one console session of the fake (no SSH); the replies."""
    session = CliSession(fake)
    return [session.feed(line)[0] for line in lines]


# --- through netmiko --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_login_shows_the_running_config(lab: Lab, case: Case) -> None:
    fake = lab.start(case)
    connection = lab.connect(fake, case)

    assert connection.find_prompt() == "<SW1>"
    running = send(connection, "display current-configuration")
    assert running.strip() == fake.running_config().strip()
    assert running.splitlines()[0] == fake.flavour.header[0]
    assert " sysname SW1" in running.splitlines()
    assert running.splitlines()[-1] == "return"
    assert fake.commands[0] == case.paging
    assert fake.sessions_opened == 1


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_push_read_back_and_undo(lab: Lab, case: Case) -> None:
    fake = lab.start(case)
    connection = lab.connect(fake, case)

    output = connection.send_config_set([
        f"interface {case.interface}", "ip address 10.10.0.1 255.255.255.0", "description guest",
    ])
    assert f"[SW1-{case.interface}]" in output
    running = send(connection, "display current-configuration")
    assert (f"interface {case.interface}\n ip address 10.10.0.1 255.255.255.0\n"
            " description guest\n#") in running

    connection.send_config_set([
        f"interface {case.interface}", "undo ip address 10.10.0.1 255.255.255.0",
        "description guest-wifi", "quit", f"undo interface {case.existing}",
    ])
    running = send(connection, "display current-configuration")
    assert f"interface {case.interface}\n description guest-wifi\n#" in running
    assert "10.10.0.1" not in running
    assert f"interface {case.existing}" not in running
    assert connection.find_prompt() == "<SW1>"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_save_then_reboot_keeps_only_saved_changes(lab: Lab, case: Case) -> None:
    fake = lab.start(case)
    connection = lab.connect(fake, case)
    connection.send_config_set([f"interface {case.interface}", "description saved"])

    output = connection.save_config()

    assert output.rstrip().splitlines()[-2] == case.saved
    assert fake.saved_config() == fake.running_config()
    connection.send_config_set([f"interface {case.interface}", "description unsaved"])
    fake.reboot()
    running = send(lab.connect(fake, case), "display current-configuration")
    assert f"interface {case.interface}\n description saved\n#" in running
    assert "unsaved" not in running


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_save_asks_first_and_no_cancels(lab: Lab, case: Case) -> None:
    fake = lab.start(case)
    connection = lab.connect(fake, case)
    typed(fake, "system-view", f"interface {case.interface}", "description pending")
    (first, asks), *_rest = case.save_dialogue

    send(connection, first, expect_string=asks)
    send(connection, "n", expect_string=r"<SW1>")
    assert "pending" not in fake.saved_config()

    for answer, asks in case.save_dialogue:
        output = send(connection, answer, expect_string=asks, strip_prompt=False)
    assert case.saved in output
    assert fake.saved_config() == fake.running_config()


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_refused_commands_get_the_caret_reply(lab: Lab, case: Case) -> None:
    fake = lab.start(case)
    connection = lab.connect(fake, case)

    output = send(connection, "frobnicate now")
    assert output.splitlines() == [
        " " * len("<SW1>") + "^", f"{case.error}Unrecognized command found at '^' position.",
    ]
    with pytest.raises(ConfigInvalidException, match="Unrecognized command"):
        connection.send_config_set([f"interface {case.interface}", "frobnicate 1"],
                                   error_pattern=case.error_pattern)
    assert "frobnicate" not in fake.running_config()


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_wrong_password_is_refused(lab: Lab, case: Case) -> None:
    fake = lab.start(case)

    with pytest.raises(NetmikoAuthenticationException):
        lab.connect(fake, case, password="wrong")
    assert fake.auth_failures == 1
    assert fake.sessions_opened == 0


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_vty_limit_refuses_one_session_more(lab: Lab, case: Case) -> None:
    fake = lab.start(case, max_sessions=2)
    first = lab.connect(fake, case)
    lab.connect(fake, case)

    with pytest.raises(NetmikoTimeoutException, match="SSH protocol banner"):
        lab.connect(fake, case)
    assert fake.refused == 1
    assert fake.max_concurrent == 2

    first.disconnect()
    wait_until(lambda: fake.active_sessions < 2, "a VTY line freed", timeout=10)
    assert lab.connect(fake, case).find_prompt() == "<SW1>"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_dropped_session_leaves_a_partial_push(lab: Lab, case: Case) -> None:
    fake = lab.start(case, drop_after_commands=1)
    connection = lab.connect(fake, case)

    # huawei waits for the echo of the unanswered command (ReadTimeout); hp_comware does
    # not wait for echoes and finds the channel closed on its next write (OSError).
    with pytest.raises((ReadTimeout, OSError)):
        connection.send_config_set([f"interface {case.interface}",
                                    "ip address 10.10.0.1 255.255.255.0"], read_timeout=5)

    assert fake.drops == 1
    running = send(lab.connect(fake, case), "display current-configuration")
    assert f"interface {case.interface}\n#" in running
    assert "10.10.0.1" not in running


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_slow_key_exchange_needs_patient_clients(lab: Lab, case: Case) -> None:
    fake = lab.start(case, kex_delay=2)

    with pytest.raises(NetmikoTimeoutException):
        lab.connect(fake, case, conn_timeout=0.5, banner_timeout=0.5)
    patient = lab.connect(fake, case, conn_timeout=10, banner_timeout=10)
    assert patient.find_prompt() == "<SW1>"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_fail_on_refuses_the_matching_command(lab: Lab, case: Case) -> None:
    fake = lab.start(case, fail_on=r"^description ")
    connection = lab.connect(fake, case)

    with pytest.raises(ConfigInvalidException, match="The command failed to be executed"):
        connection.send_config_set([f"interface {case.interface}", "description guest"],
                                   error_pattern=case.error_pattern)
    assert f"interface {case.interface}\n#" in fake.running_config()
    assert "description guest" not in fake.running_config()


# --- the configuration model, line by line ---------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_initial_config_renders_back_unchanged(case: Case) -> None:
    assert FakeVrp(case.flavour, initial_config=case.config).running_config() == case.config


@pytest.mark.parametrize(("case", "lines", "prompts"), [
    pytest.param(VRP, ["system-view", "aaa", "radius-server template citynet",
                       "user-interface vty 0 4", "interface vlanif 10", "quit", "quit"],
                 ["[SW1]", "[SW1-aaa]", "[SW1-radius-citynet]", "[SW1-ui-vty0-4]",
                  "[SW1-Vlanif10]", "[SW1]", "<SW1>"], id="huawei"),
    pytest.param(COMWARE, ["system-view", "radius scheme citynet", "domain citynet",
                           "line vty 0 63", "local-user guest", "return"],
                 ["[SW1]", "[SW1-radius-citynet]", "[SW1-isp-citynet]", "[SW1-line-vty0-63]",
                  "[SW1-luser-manage-guest]", "<SW1>"], id="h3c"),
])
def test_views_have_the_device_prompts(case: Case, lines: list[str], prompts: list[str]) -> None:
    fake = FakeVrp(case.flavour, initial_config=case.config)
    replies = typed(fake, *lines)
    assert [reply.rsplit("\n", 1)[-1] for reply in replies] == prompts


@pytest.mark.parametrize(("case", "section", "secret_line", "stored", "undo"), [
    pytest.param(VRP, "radius-server template citynet", "radius-server shared-key cipher Clear1",
                 "radius-server shared-key cipher %^%#", "undo radius-server shared-key",
                 id="huawei"),
    pytest.param(COMWARE, "radius scheme citynet", "key authentication simple Clear1",
                 "key authentication cipher $c$3$", "undo key authentication", id="h3c"),
])
def test_secrets_are_stored_encrypted_and_churn(case: Case, section: str, secret_line: str,
                                                stored: str, undo: str) -> None:
    fake = FakeVrp(case.flavour, initial_config=case.config)

    def secret_lines() -> list[str]:
        return [line for line in fake.running_config().splitlines() if stored in line]

    typed(fake, "system-view", section, secret_line)
    first = secret_lines()
    typed(fake, "system-view", section, secret_line)
    second = secret_lines()

    assert "Clear1" not in fake.running_config()
    assert len(first) == len(second) == 1
    assert first != second
    typed(fake, "system-view", section, undo)
    assert secret_lines() == []


def test_vlan_batch_merges_and_splits_ranges() -> None:
    fake = FakeVrp("huawei", initial_config=VRP_CONFIG)
    typed(fake, "system-view", "vlan batch 30 to 33", "undo vlan batch 31 20")
    assert " vlan batch 10 30 32 to 33" in fake.running_config().splitlines()


def test_unknown_interface_type_is_a_wrong_parameter() -> None:
    fake = FakeVrp("huawei")
    reply = typed(fake, "system-view", "interface Vlanfoo10")[1]
    assert reply.splitlines()[1:] == [
        " " * len("[HUAWEI]interface ") + "^", "Error: Wrong parameter found at '^' position.",
        "[HUAWEI]",
    ]


# --- the nac template's lines: taken in their views, malformed ones refused ------------


@pytest.mark.parametrize(("case", "lines", "shown"), [
    pytest.param(VRP, ["system-view", "dot1x-access-profile name d1",
                       "dot1x timer reauthenticate-period 1800", "quit",
                       "authentication-profile name p1", "dot1x-access-profile d1",
                       "authentication dot1x-mac-bypass", "access-domain citynet force",
                       "interface GigabitEthernet0/0/3", "authentication-profile p1"],
                 "dot1x-access-profile name d1\n dot1x timer reauthenticate-period 1800\n#",
                 id="huawei"),
    pytest.param(COMWARE, ["system-view", "dot1x", "interface GigabitEthernet1/0/3", "dot1x",
                           "mac-authentication re-authenticate", "quit",
                           "wlan service-template s1", "vlan 10", "akm mode dot1x"],
                 "wlan service-template s1\n vlan 10\n akm mode dot1x\n#", id="h3c"),
])
def test_nac_lines_are_taken_in_their_views(case: Case, lines: list[str], shown: str) -> None:
    fake = FakeVrp(case.flavour, initial_config=case.config)
    replies = typed(fake, *lines)
    assert not any(case.error in reply for reply in replies), replies
    assert shown in fake.running_config()


@pytest.mark.parametrize(("case", "view", "line", "caret", "message"), [
    pytest.param(VRP, "dot1x-access-profile name d1", "dot1x timer reauthenticate-period 30",
                 "dot1x timer reauthenticate-period ", "Wrong parameter", id="vrp-range"),
    pytest.param(VRP, "dot1x-access-profile name d1", "dot1x timer",
                 "dot1x timer", "Incomplete command", id="vrp-incomplete"),
    pytest.param(VRP, "authentication-profile name p1", "access-domain citynet force now",
                 "access-domain citynet force ", "Too many parameters", id="vrp-extra"),
    pytest.param(VRP, "interface GigabitEthernet0/0/3", "dot1x reauthenticate", "",
                 "Unrecognized command", id="vrp-wrong-view"),
    pytest.param(VRP, "wlan", "security-profile name s1\nsecurity wpa2 psk aes",
                 "security wpa2 ", "Wrong parameter", id="vrp-ssid-security"),
    pytest.param(COMWARE, "interface GigabitEthernet1/0/3", "dot1x re-authenticat",
                 "dot1x ", "Wrong parameter", id="h3c-keyword"),
    pytest.param(COMWARE, "radius scheme citynet", "user-name-format keep", "user-name-format ",
                 "Wrong parameter", id="h3c-choice"),
    pytest.param(COMWARE, "vlan 20", "dot1x mandatory-domain citynet", "",
                 "Unrecognized command", id="h3c-port-only"),
])
def test_malformed_nac_lines_are_refused(case: Case, view: str, line: str, caret: str,
                                         message: str) -> None:
    fake = FakeVrp(case.flavour, initial_config=case.config)
    before = fake.running_config()
    *opening, last = line.split("\n")
    replies = typed(fake, "system-view", view, *opening, last)
    prompt = replies[-2].rsplit("\n", 1)[-1]  # the view the line was typed in
    refusal = replies[-1].splitlines()
    assert refusal[1] == " " * (len(prompt) + len(caret)) + "^", refusal
    assert refusal[2] == f"{case.error}{message} found at '^' position."
    assert last not in fake.running_config()
    assert before.count("\n") <= fake.running_config().count("\n")  # nothing else lost


@pytest.mark.parametrize(("case", "view", "line", "caret", "message"), [
    pytest.param(VRP, "", "web-auth-server listening-port 60000",
                 "web-auth-server listening-port ", "Wrong parameter", id="vrp-port-range"),
    pytest.param(VRP, "url-template name t1", "url-parameter ac-name wlanacname",
                 "url-parameter ", "Wrong parameter", id="vrp-url-keyword"),
    pytest.param(VRP, "url-template name t1", "url-parameter ssid ssid ssid again",
                 "url-parameter ssid ssid ", "Wrong parameter", id="vrp-url-twice"),
    pytest.param(VRP, "url-template name t1", "url-parameter ssid",
                 "url-parameter ssid", "Incomplete command", id="vrp-url-value"),
    pytest.param(VRP, "wlan", "vap-profile name v1\nservice-vlan vlan-id 5000",
                 "service-vlan vlan-id ", "Wrong parameter", id="vrp-vap-vlan"),
    pytest.param(VRP, "portal-access-profile name p1", "web-auth-server s1 s2 layer3",
                 "web-auth-server s1 s2 ", "Wrong parameter", id="vrp-portal-mode"),
    pytest.param(COMWARE, "wlan service-template s1", "portal enable method layer3",
                 "portal enable method ", "Wrong parameter", id="h3c-wlan-direct-only"),
    pytest.param(COMWARE, "wlan service-template s1", "portal bas-ip 10.1.1",
                 "portal bas-ip ", "Wrong parameter", id="h3c-bas-ip"),
    pytest.param(COMWARE, "portal web-server w1", "url-parameter userip source-ip",
                 "url-parameter userip ", "Wrong parameter", id="h3c-url-parameter"),
    pytest.param(COMWARE, "vlan 20", "portal domain citynet", "",
                 "Unrecognized command", id="h3c-portal-view"),
])
def test_malformed_portal_lines_are_refused(case: Case, view: str, line: str, caret: str,
                                            message: str) -> None:
    """guest_wifi's lines on a Portal AC, checked like the nac lines (the same test)."""
    if view:
        test_malformed_nac_lines_are_refused(case, view, line, caret, message)
        return
    fake = FakeVrp(case.flavour, initial_config=case.config)
    replies = typed(fake, "system-view", line)
    refusal = replies[-1].splitlines()
    assert refusal[1] == " " * (len(f"[{fake.hostname}]") + len(caret)) + "^", refusal
    assert refusal[2] == f"{case.error}{message} found at '^' position."
    assert line not in fake.running_config()


@pytest.mark.parametrize(("case", "lines", "refused"), [
    pytest.param(VRP, ["wlan", "vap-profile name v1", "authentication-profile nowhere"],
                 "Error: The authentication profile does not exist.", id="vrp-vap-auth"),
    pytest.param(VRP, ["portal-access-profile name p1", "web-auth-server nowhere direct"],
                 "Error: The Portal server template does not exist.", id="vrp-portal-server"),
    pytest.param(VRP, ["wlan", "ap-group name default", "vap-profile nowhere wlan 1 radio all"],
                 "Error: The VAP profile does not exist.", id="vrp-ap-group"),
    pytest.param(COMWARE, ["wlan service-template s1", "portal domain nowhere"],
                 " % The ISP domain does not exist.", id="h3c-domain"),
    pytest.param(COMWARE, ["wlan service-template s1", "portal apply web-server nowhere"],
                 " % The portal Web server does not exist.", id="h3c-web-server"),
])
def test_a_binding_to_a_missing_section_is_refused(case: Case, lines: list[str],
                                                  refused: str) -> None:
    """A profile bound by name must exist first (the command references: "the value must
    be an existing ... name"): the template's order matters on the device."""
    fake = FakeVrp(case.flavour, initial_config=case.config)
    replies = typed(fake, "system-view", *lines)
    assert refused in replies[-1], replies
    assert lines[-1] not in fake.running_config()


@pytest.mark.parametrize(("case", "lines", "shown"), [
    pytest.param(VRP, ["system-view", "url-template name t1", "url http://10.0.0.5/portal/",
                       "url-parameter ac-ip wlanacip sysname wlanacname ssid ssid", "quit",
                       "web-auth-server listening-port 2001", "web-auth-server s1",
                       "url-template t1", "quit", "portal-access-profile name p1",
                       "web-auth-server s1 direct", "authentication-profile name a1",
                       "portal-access-profile p1", "wlan", "ssid-profile name g1", "ssid guest",
                       "vap-profile name g1", "ssid-profile g1", "authentication-profile a1",
                       "ap-group name default", "vap-profile g1 wlan 1 radio all"],
                 " vap-profile name g1\n  ssid-profile g1\n  authentication-profile a1\n",
                 id="huawei"),
    pytest.param(COMWARE, ["system-view", "domain d1", "authentication portal radius-scheme r1",
                           "quit", "portal web-server w1", "url http://10.0.0.5/portal/",
                           "url-parameter usermac source-mac", "wlan service-template s1",
                           "portal enable method direct", "portal domain d1",
                           "portal bas-ip 10.1.1.1", "portal apply web-server w1",
                           "portal bas-ip 10.1.1.2"],
                 "wlan service-template s1\n portal enable method direct\n portal domain d1\n"
                 " portal bas-ip 10.1.1.2\n portal apply web-server w1\n#", id="h3c"),
])
def test_portal_lines_are_taken_in_their_views(case: Case, lines: list[str],
                                               shown: str) -> None:
    fake = FakeVrp(case.flavour, initial_config=case.config)
    replies = typed(fake, *lines)
    assert not any(case.error in reply for reply in replies), replies
    assert shown in fake.running_config(), fake.running_config()
