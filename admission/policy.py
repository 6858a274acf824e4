"""Who gets on the network and into which VLAN: pure rules, no store (admission.gate
reads the store and calls these).

An 802.1X login FreeRADIUS authenticated is admitted on its person's role policy: active,
a policy for the role, inside the role's hours, under its device limit; then the reply
carries the VLAN (RFC 3580: Tunnel-Type VLAN, Tunnel-Medium-Type IEEE-802,
Tunnel-Private-Group-Id), Filter-Id and the NAS vendor's ACL attribute. A MAC bypass
request is admitted on its entry's profile. A refusal lands in the site's remediation
VLAN where one is configured, else it is a reject; an EAP-TLS login whose certificate is
revoked is always a reject.

An EAP-TLS login is its certificate's holder's, whatever outer identity the device shows
(identity privacy: ``anonymous@realm``); only an identity naming someone else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from admission.settings import MabProfile, NacConfig, RolePolicy
from citynet.gates import GateAnswer

# the NAS vendor's own ACL attribute (FreeRADIUS's dictionary.cisco, dictionary.huawei)
ACL_ATTRIBUTE = {"cisco": "Cisco-AVPair", "huawei": "Huawei-Data-Filter"}

REASONS = {  # English reason → Chinese, for the Reply-Message
    "unknown person": "用户不存在",
    "person disabled": "账号已停用",
    "no policy for role": "角色未配置入网策略",
    "outside allowed hours": "不在允许的上网时段",
    "too many devices online": "同时在线的设备已达上限",
    "MAC not on the bypass list": "设备未登记",
    "MAC profile not configured": "设备类型未配置",
    "certificate revoked": "证书已吊销",
    "certificate not issued here": "证书非本系统签发",
    "identity does not match certificate": "登录身份与证书不符",
}


@dataclass(frozen=True)
class PersonView:
    """What policy needs of a person."""

    username: str
    role: str
    active: bool


def vlan_attributes(vlan: str) -> dict[str, object]:
    """RFC 3580's dynamic VLAN assignment."""
    return {"Tunnel-Type": "VLAN", "Tunnel-Medium-Type": "IEEE-802",
            "Tunnel-Private-Group-Id": vlan}


def role_attributes(policy: RolePolicy | MabProfile, vendor: str) -> dict[str, object]:
    """The reply of an admission on ``policy`` to a NAS of ``vendor``."""
    attributes = vlan_attributes(policy.vlan)
    if policy.filter_id:
        attributes["Filter-Id"] = policy.filter_id
    acl = policy.acl.get(vendor, "") if isinstance(policy, RolePolicy) else ""
    if acl:
        attributes[ACL_ATTRIBUTE[vendor]] = acl
    return attributes


def within(hours: str, now: time) -> bool:
    """``now`` (local) is inside ``HH:MM-HH:MM`` (end exclusive; may cross midnight;
    empty: always)."""
    if not hours:
        return True
    start_text, end_text = hours.split("-")
    start = _minutes(start_text)
    end = _minutes(end_text)
    minute = now.hour * 60 + now.minute
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def _minutes(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def refuse(reason: str, method: str, identity: str, config: NacConfig,
           nas: str) -> GateAnswer:
    """A refusal: the site's remediation VLAN if it has one (an accept that says why),
    else a reject with a Reply-Message in Chinese and English."""
    vlan = config.remediation_at(nas)
    if vlan:
        return GateAnswer(True, vlan_attributes(vlan), method, identity,
                          reason=f"remediation: {reason}")
    return reject(reason, method, identity)


def reject(reason: str, method: str, identity: str) -> GateAnswer:
    """A reject with a Reply-Message in English and Chinese, whatever the site's
    remediation VLAN (for a credential that is dead, not a login out of policy)."""
    chinese = REASONS.get(reason, "")
    text = f"{reason} / {chinese}" if chinese else reason
    return GateAnswer(False, {"Reply-Message": text}, method, identity, reason=reason)


def names_holder(identity: str, holder: str) -> bool:
    """Whether an EAP-TLS login's outer identity agrees with its certificate's holder:
    the holder's username in any case (usernames are ASCII and one person whatever
    the case: the import refuses two that differ only in it), bare or with a realm, or
    an anonymous one (RFC 7542's ``anonymous``, a bare ``@realm``, nothing at all)."""
    if identity == holder:
        return True
    local = (identity.rpartition("@")[0] if "@" in identity else identity).lower()
    return local in (holder.lower(), "", "anonymous")


def device_limit(config: NacConfig, role: str) -> int:
    """How many devices a person of ``role`` may have online at once (0: no limit, or no
    policy for the role). :func:`admit_person` reads their devices online only to hold
    them to it: without a limit, nobody need count them."""
    policy = config.roles.get(role)
    return policy.devices if policy is not None else 0


def admit_person(person: PersonView | None, user: str, config: NacConfig, vendor: str,
                 nas: str, local_now: time, online: int,
                 revoked_certificate: bool = False) -> GateAnswer:
    """An 802.1X login of ``user`` (authenticated by FreeRADIUS already); ``online``:
    their other devices online now; ``revoked_certificate``: the EAP-TLS certificate it
    used is revoked in citynet (the CRL FreeRADIUS holds may not say so yet)."""
    if revoked_certificate:  # disabling a person revokes theirs: say the first cause
        if person is not None and not person.active:
            return reject("person disabled", "eap", person.username)
        return reject("certificate revoked", "eap", person.username if person else user)
    if person is None:
        return refuse("unknown person", "eap", user, config, nas)
    if not person.active:
        return refuse("person disabled", "eap", person.username, config, nas)
    policy = config.roles.get(person.role)
    if policy is None:
        return refuse("no policy for role", "eap", person.username, config, nas)
    if not within(policy.hours, local_now):
        return refuse("outside allowed hours", "eap", person.username, config, nas)
    if policy.devices and online >= policy.devices:
        return refuse("too many devices online", "eap", person.username, config, nas)
    return GateAnswer(True, role_attributes(policy, vendor), "eap", person.username)


def admit_holder(person: PersonView | None, user: str, revoked: bool) -> GateAnswer:
    """An EAP-TLS login where no role has a policy (the site's own EAP: no VLAN from
    citynet): its certificate's holder ``person``, while they and it still count."""
    if person is not None and not person.active:
        return reject("person disabled", "eap", person.username)
    if revoked:
        return reject("certificate revoked", "eap", user)
    if person is None:
        return reject("unknown person", "eap", user)
    return GateAnswer(True, {}, "eap", person.username)


def admit_device(mac: str, profile: str | None, config: NacConfig, vendor: str,
                 nas: str) -> GateAnswer:
    """A MAC bypass request; ``profile``: the MAC's entry's, None if it has none."""
    if profile is None:
        return refuse("MAC not on the bypass list", "mab", mac, config, nas)
    settings = config.mab_profiles.get(profile)
    if settings is None:
        return refuse("MAC profile not configured", "mab", mac, config, nas)
    return GateAnswer(True, role_attributes(settings, vendor), "mab", mac)


def locally_administered(mac: str) -> bool:
    """The MAC's U/L bit is set: a randomised (private) address, not the device's own —
    it changes, so an allow-list entry for it would admit whoever draws it next."""
    return bool(int(mac[:2], 16) & 0x02)


def multicast(mac: str) -> bool:
    return bool(int(mac[:2], 16) & 0x01)
