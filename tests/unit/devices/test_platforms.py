"""Platform profiles (devices.platforms): the tables are consistent with each other, with
the inventory's platforms, with netmiko's drivers, and with what the devices print."""

from __future__ import annotations

import inspect
import re

import pytest
from netmiko.ssh_dispatcher import CLASS_MAPPER

from devices.platforms import PROFILES, Profile, profile
from inventory.choices import Platform

ALL = sorted(PROFILES)


def test_every_cli_platform_of_the_inventory_has_a_profile() -> None:
    assert set(PROFILES) == {p.value for p in Platform} - {"linux"}
    for name, prof in PROFILES.items():
        assert prof.name == name
        assert profile(name) is prof


def test_an_unknown_platform_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'junos'.*cisco_ios, frr, hp_comware, huawei"):
        profile("junos")


def test_profiles_are_hashable_and_frozen() -> None:
    assert len({hash(p) for p in PROFILES.values()}) == len(PROFILES)
    with pytest.raises(AttributeError):
        profile("frr").negate = "undo"  # type: ignore[misc]


@pytest.mark.parametrize("name", ALL)
def test_netmiko_drives_the_platform(name: str) -> None:
    prof = profile(name)
    assert prof.netmiko_type in CLASS_MAPPER
    driver = CLASS_MAPPER[prof.netmiko_type]
    defaults = {k: p.default for k, p in inspect.signature(driver.save_config).parameters.items()}
    assert prof.save.startswith(defaults["cmd"])  # netmiko abbreviates "write mem"
    assert defaults["confirm"] == (prof.save_confirm is not None)
    exits = inspect.signature(driver.exit_config_mode).parameters
    assert exits["exit_config"].default == prof.exit_config
    enters = inspect.signature(driver.config_mode).parameters
    assert enters["config_command"].default == prof.enter_config


@pytest.mark.parametrize("name", ALL)
def test_every_regex_compiles_and_secrets_have_a_group(name: str) -> None:
    prof = profile(name)
    for pattern in (*prof.error_patterns, *prof.volatile, *prof.keyed, *prof.short_negation,
                    *prof.shared_sections, prof.encrypted_value):
        re.compile(pattern)
    for compiled in (*prof.secret_patterns, *prof.churn_patterns):
        assert "secret" in compiled.groupindex
    if prof.literal_block:
        assert "delim" in re.compile(prof.literal_block).groupindex
    assert all(default.startswith(prof.negate + " ") for default in prof.hidden_defaults)


REFUSALS = {
    "cisco_ios": ["% Invalid input detected at '^' marker.", "% Incomplete command.",
                  "% Ambiguous command:  \"sh\""],
    "frr": ["% Unknown command: ip adress 10.0.0.1/24", "% Command incomplete: ip address",
            "% There is no matched command."],
    "ruijie_os": ["% Invalid input detected at '^' marker.", "% Incomplete command."],
    "huawei": ["Error: Unrecognized command found at '^' position.",
               "Error:Incomplete command found at '^' position.",
               "Error: The address already exists."],
    "hp_comware": ["% Unrecognized command found at '^' position.",
                   "% Incomplete command found at '^' position."],
}
ACCEPTED = ["", "Building configuration...", "[OK]", "Info: Save the configuration successfully.",
            "Warning: The current configuration will be written to the device.",
            "Enter system view, return user view with Ctrl+Z.", " interface Vlanif10"]


@pytest.mark.parametrize("name", ALL)
def test_error_patterns_tell_a_refusal_from_an_answer(name: str) -> None:
    patterns = [re.compile(p, re.M) for p in profile(name).error_patterns]
    for reply in REFUSALS[name]:
        assert any(p.search(f"{reply}\n[HOST]") for p in patterns), reply
    for reply in ACCEPTED:
        assert not any(p.search(reply) for p in patterns), reply


def test_save_confirmation_prompts() -> None:
    question = re.compile(profile("huawei").save_confirm or "")
    assert question.search("Are you sure to continue?[Y/N]:")
    assert question.search("Warning: The current configuration will be written to the device. "
                           "Continue? [Y/N]:")
    assert profile("hp_comware").save == "save force"  # asks nothing


@pytest.mark.parametrize(("name", "line"), [
    ("cisco_ios", "Building configuration..."),
    ("cisco_ios", "Current configuration : 4120 bytes"),
    ("cisco_ios", "! Last configuration change at 09:12:44 UTC Tue Mar 5 2024 by netops"),
    ("cisco_ios", "! NVRAM config last updated at 09:13:02 UTC Tue Mar 5 2024 by netops"),
    ("cisco_ios", "ntp clock-period 36029005"),
    ("frr", "Current configuration:"),
    ("frr", "frr version 8.4.4"),
    ("frr", "frr defaults traditional"),
    ("ruijie_os", "Current configuration : 2895 bytes"),
    ("huawei", "!Software Version V200R019C10SPC500"),
    ("huawei", "!Last configuration was updated at 2024-03-05 09:12:44+08:00 by netops"),
    ("huawei", "!Last configuration was saved at 2024-03-05 09:13:02+08:00"),
    ("hp_comware", "version 7.1.070, Release 6343P06"),
    ("hp_comware", "version 7.1.045, ESS 2418P01"),
])
def test_volatile_lines(name: str, line: str) -> None:
    assert any(re.match(p, line) for p in profile(name).volatile)


@pytest.mark.parametrize(("name", "line"), [
    ("cisco_ios", "version 15.2"), ("cisco_ios", "ntp server 10.0.0.1"),
    ("frr", "hostname lh-core-01"), ("huawei", "sysname LH-S5735-AGG01"),
    ("hp_comware", "version 2"),  # RIP's version inside "rip 1" is config
    ("hp_comware", "snmp-agent sys-info version v2c v3"),
])
def test_config_lines_are_not_volatile(name: str, line: str) -> None:
    assert not any(re.match(p, line) for p in profile(name).volatile)


def _identity(prof: Profile, line: str) -> str | None:
    found = next((m for p in prof.keyed if (m := re.match(p, line))), None)
    return found.group(0) if found else None


@pytest.mark.parametrize(("name", "line", "identity"), [
    ("cisco_ios", "ip address 10.1.1.1 255.255.255.0", "ip address"),
    ("cisco_ios", "ip address 10.1.1.1 255.255.255.0 secondary", None),
    ("cisco_ios", "radius-server host 10.0.0.5 auth-port 1812 acct-port 1813 key 7 08",
     "radius-server host 10.0.0.5 auth-port 1812 acct-port 1813"),
    ("frr", "ip address 10.1.1.1/24", None),  # FRR keeps several addresses
    ("huawei", "ip address 10.1.1.1 255.255.255.0", "ip address"),
    ("huawei", "ip address 10.1.2.1 255.255.255.0 sub", None),
    ("huawei", "dhcp select interface", "dhcp select"),
    ("hp_comware", "primary authentication 10.0.0.5 1812 key cipher $c$3$x",
     "primary authentication"),
])
def test_single_valued_commands(name: str, line: str, identity: str | None) -> None:
    assert _identity(profile(name), line) == identity
