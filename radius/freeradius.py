"""A complete FreeRADIUS 3.2 config directory that puts FreeRADIUS in front of citynet.

`freeradius -d DIR` runs it unchanged: clients from citynet's NAS registry, the rest
module pointing at citynet's rlm_rest API, Message-Authenticator required per NAS, and
fail closed — if the API is down or answers 5xx, logins are rejected and accounting gets
no response (so the NAS retries).

A site's own rules may run before citynet: ``site-authorize`` in the directory, if there,
is included at the top of authorize (unlang). A login they decide (``reject``, or
``control:Auth-Type := Accept``) reaches citynet's ``post-auth`` endpoint, so the login
records stay whole; the logins citynet decided itself carry ``control:Citynet-Decided``
(a local, never-sent attribute of the generated dictionary) and are not recorded twice.

802.1X, when a domain contributes an ``eap`` module (network admission, once it has
people): FreeRADIUS runs EAP itself — EAP-TLS against the district CA, and the TLS tunnels
of PEAP and TTLS — and asks citynet only about the login inside a tunnel, from the
:data:`~citynet.tunnel.INNER_SERVER` virtual server (rlm_rest's ``tunnel`` call).

Past 400 lines because it is one config file's text: the unlang pieces read best next to
the server they go into, and splitting them would scatter one radiusd.conf.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from citynet.config import RadiusConfig
from citynet.tunnel import INNER_SERVER
from radius.nas import NasEntry

TOKEN_HEADER = "X-Citynet-Token"  # noqa: S105 - a header name, not a secret
# set by citynet's authorize answers (accept, reject) and by the config (notfound): this
# login is citynet's decision and in its records already. 3000-3999: FreeRADIUS's range
# for local attributes that never go into a packet.
DECIDED = "Citynet-Decided"
# the inner identity and reason of a PEAP/TTLS login, kept for the outer record
INNER_USER, INNER_REASON = "Citynet-Inner-User", "Citynet-Inner-Reason"
DICTIONARY = f"""$INCLUDE /usr/share/freeradius/dictionary
ATTRIBUTE\t{DECIDED}\t3101\tstring
ATTRIBUTE\t{INNER_USER}\t3102\tstring
ATTRIBUTE\t{INNER_REASON}\t3103\tstring
"""
SITE_AUTHORIZE = "site-authorize"
# an inner EAP-Response (2), any identifier, length 6, type MSCHAPv2 (26) with op-code
# Success (3): RFC 2759's acknowledgement (draft-kamath-pppext-eap-mschapv2 §2), as
# FreeRADIUS prints an octets attribute for a regular expression
MSCHAPV2_SUCCESS_ACK = "^0x02[0-9a-f]{2}00061a03$"
# the reason recorded for an inner login citynet knows nobody of (the gate's words)
UNKNOWN_PERSON = "unknown person"
# the longest inner identity asked about: what one RADIUS attribute holds (RFC 2865 §5),
# the most citynet's API takes (rlm_rest.MAX_VALUE)
LONGEST_INNER_NAME = 253
# rlm_rest's codes other than fail (fail moves on to the next node): the API's answer
RETURNED = ("ok", "updated", "noop", "notfound", "reject", "userlock", "invalid")
# what eap_tls adds to an EAP-TLS login's request and citynet does not read (it reads the
# client certificate's serial alone): ~2 KB of JSON a login otherwise, sent chunked
CERTIFICATE_DETAILS = (
    *(f"TLS-Cert-{name}" for name in (
        "Serial", "Expiration", "Issuer", "Subject", "Common-Name", "Valid-Since",
        "Subject-Alt-Name-Email", "Subject-Alt-Name-Dns", "Subject-Alt-Name-Upn")),
    *(f"TLS-Client-Cert-{name}" for name in (
        "Expiration", "Issuer", "Subject", "Common-Name", "Filename", "Valid-Since",
        "Subject-Alt-Name-Email", "Subject-Alt-Name-Dns", "Subject-Alt-Name-Upn",
        "X509v3-Extended-Key-Usage", "X509v3-Extended-Key-Usage-OID",
        "X509v3-Subject-Key-Identifier", "X509v3-Authority-Key-Identifier",
        "X509v3-Basic-Constraints", "X509v3-Certificate-Policies")))


@dataclass(frozen=True)
class FrontConfig:
    # citynet's rlm_rest API servers in failover order, e.g. ("http://10.1.0.10:8812",
    # "http://10.2.0.10:8812"): one rest module instance each, called in a redundant block
    api_urls: tuple[str, ...]
    token: str
    bind: str = "127.0.0.1"
    auth_port: int = 1812
    acct_port: int = 1813
    eap_module: str | None = None  # the eap module's text (inside modules {}), if any

    def __post_init__(self) -> None:
        if not self.api_urls:
            raise ValueError("FreeRADIUS needs at least one citynet API URL")

    @property
    def instances(self) -> list[str]:
        """The rest module instance names, one per API server."""
        return [f"citynet_api{number}" for number in range(1, len(self.api_urls) + 1)]

    @property
    def tunnel_instances(self) -> list[str]:
        """The rest instances the inner tunnel calls (authorize goes to ``/tunnel``)."""
        return [f"citynet_tunnel{number}" for number in range(1, len(self.api_urls) + 1)]


def api_urls_of(config: RadiusConfig) -> tuple[str, ...]:
    """This node's rlm_rest API first, then the other cluster nodes' (``radius.servers``,
    each running the API on ``rest_port``): FreeRADIUS prefers its own node."""
    local = config.rest_bind
    hosts = [local, *(server for server in config.servers if server != local)]
    return tuple(http_url(host, config.rest_port) for host in hosts)


def http_url(host: str, port: int) -> str:
    """Where the API is, as a caller writes it (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def clients_conf(entries: list[NasEntry]) -> str:
    blocks = []
    for entry in sorted(entries, key=lambda e: e.name):
        require = "yes" if entry.require_message_authenticator else "no"
        blocks.append(
            f"client {_quoted(entry.name)} {{\n"
            f"    ipaddr = {entry.network}\n"
            f"    secret = {_quoted(entry.secret.decode())}\n"
            f"    shortname = {_quoted(entry.name)}\n"
            f"    require_message_authenticator = {require}\n"
            "}\n")
    return "# Generated by `citynet freeradius config` from the NAS registry.\n" + "\n".join(
        blocks)


def _rest_section(name: str, config: FrontConfig, path: str | None = None) -> str:
    query = "nas=%{client:shortname}"
    if name == "post-auth":  # what FreeRADIUS answered, and by which Auth-Type
        query += "&packet=%{reply:Packet-Type}&auth=%{control:Auth-Type}"
    return f"""    {name} {{
        uri = "${{..connect_uri}}/{path or name}?{query}"
        method = 'post'
        body = 'json'
        timeout = 2
    }}
"""


def _call_rest(config: FrontConfig, indent: str, instances: list[str] | None = None) -> str:
    """Call citynet's API, failing over to the next node when one fails (down, slow,
    5xx: rlm_rest's ``fail``); any other answer (ok, reject, notfound...) is the API's.

    rlm_rest consumes control:REST-HTTP-Header after every call, so each try adds it
    anew: one ``group`` per node inside ``redundant``. (HTTP Basic is not an option:
    in authenticate, rlm_rest sends the user's own name and password there.)"""
    header = _quoted(f"{TOKEN_HEADER}: {config.token}")
    inner = indent + "    " * 2
    # each answer leaves the group at once, so the group's code is the API's (not the
    # higher-priority "updated" of the header update) and `if (notfound)` after it holds
    answers = "".join(f"{inner}    {rcode} = return\n" for rcode in RETURNED)
    tries = "".join(
        f"{indent}    group {{\n{inner}update control {{\n{inner}    &REST-HTTP-Header += "
        f"{header}\n{inner}}}\n{inner}{name} {{\n{answers}{inner}}}\n{indent}    }}\n"
        for name in instances or config.instances)
    return f"{indent}redundant {{\n{tries}{indent}}}\n"


def _rest_module(name: str, url: str, sections: str) -> str:
    return f"""    rest {name} {{
        connect_uri = {_quoted(url.rstrip("/") + "/radius/rest")}
        connect_timeout = 2
{sections}        pool {{
            start = 0
            min = 0
            max = 32
            spare = 8
            uses = 0
            retry_delay = 1
            lifetime = 0
            idle_timeout = 60
        }}
    }}
"""


def base_conf(directory: Path) -> str:
    """The global part of a standalone radiusd.conf rooted at ``directory``."""
    return f"""prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {directory}/log
raddbdir = {directory}
radacctdir = {directory}/radacct
name = freeradius
confdir = {directory}
modconfdir = {directory}/mods-config
run_dir = {directory}/run
db_dir = {directory}
libdir = /usr/lib/freeradius
pidfile = {directory}/run/freeradius.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no

log {{
    destination = stderr
    auth = no
}}

security {{
    allow_core_dumps = no
    max_attributes = 200
    reject_delay = 0
    status_server = yes
}}

thread pool {{
    start_servers = 4
    max_servers = 32
    min_spare_servers = 2
    max_spare_servers = 8
    max_requests_per_server = 0
}}
"""


def _eap_modules(config: FrontConfig) -> str:
    """The eap module, mschap (PEAP's inner MSCHAPv2, checked against the NT hash citynet
    answers with) and the rest instances of the inner tunnel."""
    if config.eap_module is None:
        return ""
    tunnel = _rest_section("authorize", config, "tunnel")
    return config.eap_module + """    mschap {
        use_mppe = yes
        require_encryption = yes
        require_strong = yes
        pool {
            start = 0
            min = 0
            max = 0
        }
    }
""" + "".join(_rest_module(name, url, tunnel)
              for name, url in zip(config.tunnel_instances, config.api_urls, strict=True))


def _outer_eap(config: FrontConfig) -> str:
    if config.eap_module is None:
        return ""
    return f"""        # 802.1X: the eap module runs the conversation (EAP-TLS, and the tunnels of
        # PEAP and TTLS, whose inner logins citynet answers from the inner tunnel)
        if (&EAP-Message) {{
            # what the inner tunnel said in an earlier round, for the record (post-auth
            # REJECT sees no session-state, but control lasts the whole request)
            update control {{
                &{INNER_USER} := &session-state:User-Name
                &{INNER_REASON} := &session-state:Module-Failure-Message
            }}
            eap {{
                ok = return
                updated = return
            }}
            reject
        }}
"""


def inner_tunnel(config: FrontConfig) -> str:
    """The virtual server for the login inside PEAP and TTLS: citynet answers TTLS/PAP
    with its decision, PEAP-MSCHAPv2 with the NT hash that FreeRADIUS's mschap checks."""
    if config.eap_module is None:
        return ""
    ask = _call_rest(config, "        ", config.tunnel_instances)
    return f"""
server {INNER_SERVER} {{
    authorize {{
        # an inner identity longer than an attribute holds (PEAP's is the EAP identity
        # inside the tunnel: up to ~1 KB) is nobody's, and citynet's API takes none
        # (rlm_rest 3.2.1 cannot even send one past its JSON buffer whole): refused
        # here, and recorded under its length rather than not at all
        if (&User-Name && "%{{strlen:%{{User-Name}}}}" > {LONGEST_INNER_NAME}) {{
            update request {{
                &User-Name := "(an identity of %{{strlen:%{{User-Name}}}} bytes)"
                &Module-Failure-Message := "{UNKNOWN_PERSON}"
            }}
            reject
        }}
        # EAP-MSCHAPv2's identity and challenge: the eap module alone
        eap {{
            ok = return
        }}
        # the supplicant's acknowledgement of MSCHAPv2's Success: mschap has checked the
        # response a round before, and this round needs no NT hash (a second call would
        # cost every PEAP login a lookup; without the hash nothing can be accepted here)
        # (TTLS/PAP has no inner EAP-Message: a regex on a missing attribute would put
        # "Failed retrieving values…" in the login's Module-Failure-Message)
        if (&EAP-Message && &EAP-Message =~ /{MSCHAPV2_SUCCESS_ACK}/i) {{
            return
        }}
        # the device the login comes from (a hold on wrong passwords counts by it): the
        # tunnel gets none of the outer request's attributes (copy_request_to_tunnel = no)
        if (&outer.request:Calling-Station-Id) {{
            update request {{
                &Calling-Station-Id := &outer.request:Calling-Station-Id
            }}
        }}
        # the login: TTLS's PAP password, or PEAP's MSCHAPv2 response
{ask}        if (notfound) {{
            # citynet's 404 carries no Reply-Message: the record's reason is said here
            update request {{
                &Module-Failure-Message := "{UNKNOWN_PERSON}"
            }}
            reject
        }}
    }}
    authenticate {{
        Auth-Type eap {{
            eap
        }}
        Auth-Type MS-CHAP {{
            mschap
        }}
    }}
    post-auth {{
        # the real identity for the outer Access-Accept (and the outer record), whatever
        # anonymous name the outer EAP identity gave
        update outer.session-state {{
            &User-Name := &User-Name
        }}
        Post-Auth-Type REJECT {{
            # the outer record names the person, and why (citynet's Reply-Message, or
            # the module's, e.g. mschap's): TTLS rejects in this very round (the outer
            # request), PEAP one round later (the outer session-state)
{_remember_refusal("outer.request")}{_remember_refusal("outer.session-state")}        }}
    }}
}}
"""


def _remember_refusal(where: str) -> str:
    indent = " " * 12
    return (f"{indent}update {where} {{\n{indent}    &User-Name := &User-Name\n{indent}}}\n"
            f"{indent}if (&reply:Reply-Message) {{\n{indent}    update {where} {{\n"
            f"{indent}        &Module-Failure-Message := &reply:Reply-Message\n"
            f"{indent}    }}\n{indent}}}\n"
            f"{indent}elsif (&Module-Failure-Message) {{\n{indent}    update {where} {{\n"
            f"{indent}        &Module-Failure-Message := &Module-Failure-Message\n"
            f"{indent}    }}\n{indent}}}\n")


def _outer_authenticate(config: FrontConfig) -> str:
    if config.eap_module is None:
        return ""
    return """        Auth-Type eap {
            eap
        }
"""


def _outer_refused(config: FrontConfig) -> str:
    """A refused EAP login: an EAP-Failure for the supplicant even when policy refused it,
    and the record under the inner identity and reason (PEAP's, from an earlier round)."""
    if config.eap_module is None:
        return ""
    return f"""            if (&EAP-Message) {{
                eap
                # the EAP-Failure is made; the client's message is no part of the record,
                # and a handshake refused in the round of the client's certificate
                # carries one larger than rlm_rest's JSON buffer (its call would send a
                # cut body, and the refusal would go unrecorded)
                update request {{
                    &EAP-Message !* ANY
                }}
            }}
            if (&control:{INNER_USER}) {{
                update request {{
                    &User-Name := &control:{INNER_USER}
                    &Module-Failure-Message := &control:{INNER_REASON}
                }}
            }}
"""


def _outer_post_auth(config: FrontConfig) -> str:
    if config.eap_module is None:
        return ""
    dropped = "".join(f"                &{name} !* ANY\n" for name in CERTIFICATE_DETAILS)
    return f"""        # a PEAP/TTLS login: the inner identity goes to the NAS (User-Name in the
        # Accept) and into the record
        if (&session-state:User-Name) {{
            update reply {{
                &User-Name := &session-state:User-Name
            }}
            update request {{
                &User-Name := &session-state:User-Name
            }}
        }}
        # an EAP-TLS login: of its certificate citynet reads the serial alone
        if (&TLS-Client-Cert-Serial) {{
            update request {{
{dropped}            }}
        }}
"""


def radiusd_conf(directory: Path, config: FrontConfig) -> str:
    rest_sections = "".join(_rest_section(name, config)
                            for name in ("authorize", "post-auth", "accounting"))
    rest_modules = "".join(_rest_module(name, url, rest_sections)
                           for name, url in zip(config.instances, config.api_urls, strict=True))
    rest_modules += _eap_modules(config)
    authorize_rest = _call_rest(config, "        ")
    accounting_rest = _call_rest(config, "        ")
    record_accept = _call_rest(config, "            ")
    outer_eap, outer_post_auth = _outer_eap(config), _outer_post_auth(config)
    # an EAP login refused by policy still ends with an EAP-Failure for the supplicant
    outer_eap_failure = _outer_refused(config)
    record_reject = _call_rest(config, "                ")
    return f"""# Generated by `citynet freeradius config`: FreeRADIUS in front of citynet's API.
{base_conf(directory)}
$INCLUDE clients.conf

modules {{
    always reject {{
        rcode = reject
    }}
    always ok {{
        rcode = ok
    }}
{rest_modules}}}

server default {{
    listen {{
        type = auth
        ipaddr = {config.bind}
        port = {config.auth_port}
    }}
    listen {{
        type = acct
        ipaddr = {config.bind}
        port = {config.acct_port}
    }}

    authorize {{
        # the site's own rules, if any: a login they accept (control:Auth-Type) or reject
        # is not citynet's to decide, and post-auth records it
        $-INCLUDE ${{confdir}}/{SITE_AUTHORIZE}
{outer_eap}        # CHAP without CHAP-Challenge uses the Request Authenticator (RFC 2865 5.3);
        # citynet only sees attributes, so hand it over explicitly.
        if (&CHAP-Password && !&CHAP-Challenge) {{
            update request {{
                &CHAP-Challenge := "%{{Packet-Authentication-Vector}}"
            }}
        }}
        if (&control:Auth-Type) {{
            return
        }}
        # One call decides: an accepted login comes back with control:Auth-Type := Accept
        # and its reply attributes, a rejected one as 401 (reject) with a Reply-Message;
        # both with control:{DECIDED}.
{authorize_rest}        # a User-Name that is nobody's (no such voucher or device): citynet decided
        # and recorded it
        if (notfound) {{
            update control {{
                &{DECIDED} := "notfound"
            }}
            reject
        }}
        # fail closed: when every node is down, slow or broken (fail), or answers
        # userlock/invalid, authorize returns that code at once and FreeRADIUS rejects
    }}

    authenticate {{
{_outer_authenticate(config)}    }}

    post-auth {{
{outer_post_auth}        # accepted by the site's rules (or by eap): recorded by citynet, or
        # (citynet down) rejected
        if (!&control:{DECIDED}) {{
{record_accept}        }}
        Post-Auth-Type REJECT {{
            # citynet's post-auth refused an EAP login (its policy: 401) and recorded
            # it; rlm_rest reads no answer body in post-auth, so the mark is made here
            # (tested for presence first: comparing a missing attribute fails the login's
            # Module-Failure-Message)
            if (&reply:REST-HTTP-Status-Code && &reply:REST-HTTP-Status-Code == 401) {{
                update control {{
                    &{DECIDED} := "reject"
                }}
            }}
{outer_eap_failure}            # refused without citynet's decision (site rules, citynet failing)
            if (!&control:{DECIDED}) {{
{record_reject}            }}
        }}
    }}

    accounting {{
{accounting_rest}    }}
}}
{inner_tunnel(config)}"""


def write(directory: Path, config: FrontConfig, entries: list[NasEntry]) -> list[Path]:
    """Write the directory; files holding secrets are readable by the owner only."""
    directory = directory.resolve()
    for sub in ("log", "run", "radacct", "mods-config"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    files = {
        "radiusd.conf": radiusd_conf(directory, config),
        "clients.conf": clients_conf(entries),
        "dictionary": DICTIONARY,
    }
    written = []
    for name, text in files.items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        written.append(path)
    return written
