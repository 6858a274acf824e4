"""Configuration: one TOML file plus ``CITYNET_<SECTION>__<KEY>`` environment overrides.

Everything is validated once, at start-up. A wrong value stops start-up with a single
line that names the key, where the value came from, and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_origin
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import URL, make_url

from citynet.errors import ConfigError

ENV_PREFIX = "CITYNET_"
MASK = "********"
# Variables with the prefix that are not config keys.
ENV_NOT_KEYS = frozenset({"CITYNET_CONFIG", "CITYNET_DEVICE_USERNAME", "CITYNET_DEVICE_PASSWORD",
                          "CITYNET_DEVICE_KEY_FILE"})  # device logins: devices/targets.py


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


POSTGRES_PORT = 5432


def _host_and_port(entry: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (one entry of a libpq host list)."""
    host, port = entry, ""
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise ValueError(f"host {entry!r}: an IPv6 address goes in brackets: [::1]:5432")
        port = port[1:]
    elif ":" in entry:
        host, _colon, port = entry.rpartition(":")
        if ":" in host:
            raise ValueError(f"host {entry!r}: an IPv6 address goes in brackets: [::1]:5432")
    if not host:
        raise ValueError(f"host {entry!r} has no name or address")
    if not port:
        return host, POSTGRES_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"host {entry!r}: port {port!r} is not a number from 1 to 65535")
    return host, int(port)


def store_url(raw: str) -> URL:
    """A database URL as SQLAlchemy takes it. Besides SQLAlchemy's own forms, PostgreSQL
    URLs may list several hosts the libpq way (``postgresql://u@h1:5432,h2:5432/db``, for a
    Patroni pair): they become the ``?host=h1,h2&port=5432,5432`` form, which the psycopg
    dialect hands to libpq — and which, unlike ``host=h:p`` pairs, keeps IPv6 intact."""
    parts = urlsplit(raw)
    userinfo, _at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return make_url(raw)
    if not parts.scheme.startswith("postgresql"):
        raise ValueError("several hosts (h1,h2) are for PostgreSQL URLs only")
    if {"host", "port"} & {key for key, _value in parse_qsl(parts.query)}:
        raise ValueError("hosts are listed either in the URL (h1:5432,h2:5432) or as "
                         "?host=, not both")
    pairs = [_host_and_port(entry) for entry in hosts.split(",")]
    user, has_password, password = userinfo.partition(":")
    url = make_url(f"{parts.scheme}:///{parts.path.lstrip('/')}"
                   + (f"?{parts.query}" if parts.query else ""))
    return url.set(username=unquote(user) or None,
                   password=unquote(password) if has_password else None).update_query_dict({
                       "host": ",".join(host for host, _port in pairs),
                       "port": ",".join(str(port) for _host, port in pairs)})


def shown_url(url: URL) -> str:
    """``url`` for people (logs, `config show`): no password, and a host list with its
    commas as written, not percent-encoded."""
    return url.render_as_string(hide_password=True).replace("%2C", ",")


class DatabaseConfig(Section):
    url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite at DATA_DIR/citynet.sqlite3. "
        "PostgreSQL: postgresql://user:password@host:5432/citynet; several hosts (a "
        "Patroni pair): postgresql://user@h1:5432,h2:5432/citynet"
        "?target_session_attrs=read-write",
    )
    echo: bool = Field(default=False, description="log every SQL statement (debugging)")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value:
            backend = store_url(value).get_backend_name()
            if backend not in ("sqlite", "postgresql"):
                raise ValueError(f"backend {backend!r} is not supported (sqlite or postgresql)")
        return value


class WebConfig(Section):
    bind: str = Field(default="127.0.0.1", description="address the web app listens on")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port of the web app")
    threads: int = Field(default=8, ge=1, le=256, description="web worker threads")
    staff_idle_minutes: int = Field(default=30, ge=1, le=24 * 60,
                                    description="a staff session ends after this long idle")
    staff_session_hours: int = Field(default=12, ge=1, le=168,
                                     description="a staff session ends this long after login")


MAX_RADIUS_SERVERS = 2  # CoovaChilli names two (radiusserver1/2); every template takes two


class RadiusConfig(Section):
    bind: str = Field(default="127.0.0.1", description="address the RADIUS listener binds")
    auth_port: int = Field(default=1812, ge=0, le=65535,
                           description="UDP authentication port (0: any free port)")
    acct_port: int = Field(default=1813, ge=0, le=65535,
                           description="UDP accounting port (0: any free port)")
    enabled: bool = Field(
        default=True, description="run the UDP listener in `citynet serve` / `citynet demo` "
        "(off when FreeRADIUS owns the ports; the rlm_rest API runs whenever "
        "radius.rest_token is set)")
    nas_refresh_seconds: float = Field(
        default=30.0, gt=0, le=3600,
        description="how often the listener re-reads the NAS clients from the store")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="the district's time zone: when a day starts for daily limits")
    rest_token: SecretStr = Field(
        default=SecretStr(""),
        description="token FreeRADIUS's rlm_rest presents (X-Citynet-Token); empty: API off")
    rest_bind: str = Field(default="127.0.0.1",
                           description="address the rlm_rest API (HTTP) binds")
    rest_port: int = Field(default=8812, ge=0, le=65535,
                           description="TCP port of the rlm_rest API (0: any free port)")
    rest_allow: list[str] = Field(
        default=["127.0.0.1/32", "::1/128"],
        description="networks the rlm_rest API accepts calls from")
    coa_port: int = Field(
        default=3799, ge=1, le=65535,
        description="UDP port of the NASes' dynamic-authorization server (RFC 5176): "
        "where Disconnect- and CoA-Requests go")
    # --- the cluster's servers, as the NASes see them (deploy/README.md) ----------------
    servers: list[str] = Field(
        default=["127.0.0.1"], min_length=1, max_length=MAX_RADIUS_SERVERS,
        description="the cluster's RADIUS servers in failover order, as every NAS names "
        "them (two sites: 10.1.0.10,10.2.0.10): the generated NAS and FreeRADIUS configs "
        "list each one, for RADIUS and for the CoA clients the NAS accepts; at most 2 "
        "(CoovaChilli's radiusserver1/2)")

    @field_validator("servers", mode="before")
    @classmethod
    def _split_servers(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("servers")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address (a NAS names its RADIUS "
                                 "servers by address)") from None
        if len(set(value)) != len(value):
            raise ValueError("a server is named twice")
        return value

    @property
    def has_work(self) -> bool:
        """Something for the RADIUS service to run: the UDP ports, or the rlm_rest API
        (FreeRADIUS in front owns the ports: radius.enabled off, the token set)."""
        return self.enabled or bool(self.rest_token.get_secret_value())

    @field_validator("rest_allow", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return [part.strip() for part in value.split(",")] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from None
        return value

    @field_validator("rest_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item)  # ValueError names the bad one
        return value


class RecordsConfig(Section):
    retention_days: int = Field(
        default=180, ge=60, le=3650,
        description="login records are kept this long at least (the law: >= 60; plan: 180); "
        "a value set on the admin web's retention page overrides it")


class SecretsConfig(Section):
    key: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet key(s), comma-separated, newest first; overrides key_file",
    )
    key_file: str = Field(
        default="",
        description="file with Fernet keys, one a line, newest first; "
        "empty means DATA_DIR/secret.key",
    )


LoginMethod = Literal["sms", "voucher", "app"]


def _comma_list(value: object) -> object:
    """A list given as one comma-separated string (an environment variable)."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(
        value, str) else value


class PortalConfig(Section):
    sms_gateway: Literal["outbox", "http"] = Field(
        default="outbox",
        description="how SMS codes leave: outbox (a file under data_dir: demo, tests) or http")
    sms_urls: list[str] = Field(
        default=[], description="HTTP SMS gateways, comma-separated, in failover order")
    sms_token: SecretStr = Field(default=SecretStr(""),
                                 description="bearer token for the HTTP SMS gateways")
    show_outbox: bool = Field(
        default=False, description="show sent SMS on the portal (demo only: never in production)")
    code_minutes: int = Field(default=5, ge=1, le=5, description="an SMS code is valid this long")
    resend_seconds: int = Field(default=60, ge=30, le=600,
                                description="wait before another SMS code may be sent")
    per_phone_day: int = Field(default=5, ge=1, description="SMS codes per number a day")
    per_ip_day: int = Field(default=20, ge=1, description="SMS codes per client address a day")
    per_mac_day: int = Field(default=5, ge=1, description="SMS codes per device a day")
    per_prefix_day: int = Field(default=200, ge=1,
                                description="SMS codes per number prefix (7 digits) a day")
    global_day: int = Field(default=20000, ge=1, description="SMS codes in all a day")
    venue_info_url: str = Field(default="", description="RFC 8908 venue-info-url (optional)")
    login_methods: list[LoginMethod] = Field(
        default=["sms", "voucher", "app"], min_length=1,
        description="the login methods the portal offers, in order (sms, voucher, app), "
        "comma-separated")
    login_methods_by_nas: dict[str, list[LoginMethod]] = Field(
        default={}, description="a hotspot's own order, by NAS name (a TOML table: "
        "\"gw-1\" = [\"voucher\", \"sms\"]); other hotspots use login_methods")
    app_enrolment: bool = Field(
        default=False, description="after an SMS login, invite the person to set up an "
        "authenticator app (off: public WiFi; app logins of those enrolled still work)")

    @field_validator("sms_urls", "login_methods", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("login_methods_by_nas", mode="before")
    @classmethod
    def _split_each(cls, value: object) -> object:
        return {nas: _comma_list(methods) for nas, methods in value.items()} if isinstance(
            value, dict) else value

    @field_validator("login_methods")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a login method is named twice")
        return value

    @field_validator("login_methods_by_nas")
    @classmethod
    def _once_each_by_nas(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for nas, methods in value.items():
            if not methods or len(set(methods)) != len(methods):
                raise ValueError(f"{nas}: name each login method once, at least one")
        return value

    def methods_at(self, nas: str) -> list[LoginMethod]:
        """The login methods a hotspot's page offers, in its order."""
        return self.login_methods_by_nas.get(nas) or self.login_methods

    @field_validator("sms_urls")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _gateway_has_urls(self) -> PortalConfig:
        if self.sms_gateway == "http" and not self.sms_urls:
            raise ValueError("sms_gateway = \"http\" needs portal.sms_urls")
        return self


class MonitoringConfig(Section):
    influx_url: str = Field(
        default="", description="InfluxDB (v2 write API) URL for telemetry; empty: "
        "rollups in the citynet database only")
    influx_org: str = Field(default="citynet", description="InfluxDB organisation")
    influx_bucket: str = Field(default="citynet", description="InfluxDB bucket")
    influx_token: SecretStr = Field(default=SecretStr(""), description="InfluxDB API token")
    batch_size: int = Field(default=5000, ge=1, le=100_000,
                            description="points per InfluxDB write")
    spool_max_mb: int = Field(
        default=512, ge=1, description="disk spool for points while InfluxDB is down; when "
        "full, the oldest spooled points are dropped (and counted)")
    signal_threshold_dbm: float = Field(
        default=-70.0, ge=-100, le=-30,
        description="a survey point is covered when a hotspot's signal is at least this")
    probe_timeout_seconds: float = Field(default=1.0, gt=0, le=30,
                                         description="wait for a probe's answer this long")
    probe_concurrency: int = Field(default=64, ge=1, le=1024,
                                   description="probes in flight at once")
    intervals: dict[str, float] = Field(
        default={}, description="seconds between runs per collector, e.g. "
        "{reachability = 60}; unnamed collectors use their own default")
    ap_down_minutes: float = Field(default=10.0, gt=0,
                                   description="alert when an AP is down this long")
    alert_webhooks: list[str] = Field(default=[], description="URLs alerts are POSTed to")
    smtp_host: str = Field(default="", description="SMTP server for alert e-mail; empty: none")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port")
    mail_from: str = Field(default="citynet@localhost", description="sender of alert e-mail")
    mail_to: list[str] = Field(default=[], description="alert e-mail recipients")

    @field_validator("alert_webhooks", "mail_to", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(
            value, str) else value

    @field_validator("influx_url")
    @classmethod
    def _influx_http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class DevicesConfig(Section):
    intent_vars: str = Field(
        default="", description="YAML file of intent variables (NTP, syslog, guest VLAN, "
        "per-site and per-device overrides); empty means DATA_DIR/intent.yaml")
    templates: list[str] = Field(
        default=["baseline"], description="intent templates pushed to every device, in "
        "order (built-in: baseline, guest_wifi; or a directory of your own in intent_vars)")
    concurrency: int = Field(default=20, ge=1, le=500,
                             description="devices worked on at once across the fleet")
    per_site: int = Field(default=4, ge=1, le=100, description="devices at once per site")
    sessions_per_second: float = Field(
        default=10.0, gt=0, le=1000,
        description="new SSH sessions opened per second at most (VTY lines, AAA load)")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600,
                                   description="per-device connect and command timeout")
    canary: int = Field(default=1, ge=0, le=100,
                        description="devices pushed (and checked) before the rest")
    max_failures: int = Field(default=3, ge=0,
                              description="stop the push after more failures than this")
    approval_threshold: int = Field(
        default=20, ge=0, description="a push that would change more devices than this "
        "needs a change request approved by a second person (0: every push that changes "
        "anything)")
    approval_valid_hours: int = Field(
        default=24, ge=1, le=24 * 30,
        description="an approved change request expires this long after its approval "
        "if no push used it")


class DemoConfig(Section):
    hotspot_port: int = Field(
        default=3990, ge=1, le=65535,
        description="`citynet demo`: TCP port of the hotspot simulator (CoovaChilli's UAM "
        "port), where a browser starts the captive-portal walk")


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="log level"
    )
    format: Literal["text", "json"] = Field(
        default="text", description="text lines, or one JSON object a line (time, level, "
        "logger, message) for a log collector")


class MetricsConfig(Section):
    allow: list[str] = Field(
        default=["127.0.0.1/32", "::1/128"],
        description="networks Prometheus may scrape /metrics from (the web app's and the "
        "rlm_rest API's), comma-separated; others get 404")

    @field_validator("allow", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item)  # ValueError names the bad one
        return value


class Config(Section):
    data_dir: str = Field(default="./var", description="where the embedded store and keys live")
    database: DatabaseConfig = DatabaseConfig()
    web: WebConfig = WebConfig()
    radius: RadiusConfig = RadiusConfig()
    records: RecordsConfig = RecordsConfig()
    portal: PortalConfig = PortalConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    devices: DevicesConfig = DevicesConfig()
    secrets: SecretsConfig = SecretsConfig()
    demo: DemoConfig = DemoConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_path / 'citynet.sqlite3'}"

    @property
    def key_path(self) -> Path:
        return Path(self.secrets.key_file).expanduser() if self.secrets.key_file else (
            self.data_path / "secret.key"
        )


def load(path: str | os.PathLike[str] | None = None,
         environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any), apply environment overrides, validate."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("CITYNET_CONFIG") or None
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if path is not None:
        data = _read_toml(Path(path))
        sources.update({key: str(path) for key in _dotted_keys(data)})
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in ENV_NOT_KEYS:
            continue
        dotted = name[len(ENV_PREFIX):].lower().replace("__", ".")
        if _is_table(dotted):  # a whole table at once: a JSON object
            table = _json_table(value, dotted, name)
            _set_dotted(data, dotted, table, name)
            sources.update({f"{dotted}.{key}": f"environment {name}" for key in table})
        else:
            _set_dotted(data, dotted, value, name)
        sources[dotted] = f"environment {name}"
    return from_dict(data, sources)


def _is_table(dotted: str) -> bool:
    """The key names a table-valued setting (``monitoring.intervals``), not a section."""
    model: type[BaseModel] = Config
    *sections, key = dotted.split(".")
    for name in sections:
        field = model.model_fields.get(name)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, Section)):
            return False
        model = annotation
    field = model.model_fields.get(key)
    return field is not None and get_origin(field.annotation) is dict


def _json_table(value: str, dotted: str, env_name: str) -> dict[str, Any]:
    """A whole table from one variable: a JSON object, or a TOML inline table as the
    file would hold it (``{coverage = 3600}``)."""
    table: object = None
    try:
        table = json.loads(value)
    except json.JSONDecodeError:
        with contextlib.suppress(tomllib.TOMLDecodeError):
            table = tomllib.loads(f"table = {value}")["table"]
    if not isinstance(table, dict):
        raise ConfigError(f"config: {dotted}: {env_name} must be a JSON object, e.g. "
                          f"'{{\"name\": 60}}'; or set one entry: {env_name}__NAME=60")
    return table


def from_dict(data: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> Config:
    """Validate a plain dict (tests build configs this way)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources or {})) from None


def effective(config: Config) -> dict[str, Any]:
    """The config as a dict with every secret masked, for ``citynet config show``."""
    shown = config.model_dump(mode="json")
    shown["database"]["url"] = shown_url(store_url(config.database_url))
    # chat webhooks carry their token in the URL: only where they point is shown
    shown["monitoring"]["alert_webhooks"] = [
        f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/{MASK}"
        for url in config.monitoring.alert_webhooks]
    for section, key, value in (("secrets", "key", config.secrets.key),
                                ("radius", "rest_token", config.radius.rest_token),
                                ("monitoring", "influx_token", config.monitoring.influx_token),
                                ("portal", "sms_token", config.portal.sms_token)):
        if value.get_secret_value():
            shown[section][key] = MASK
    return shown


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _dotted_keys(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            keys.extend(_dotted_keys(value, f"{prefix}{key}."))
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, env_name: str) -> None:
    *sections, key = dotted.split(".")
    node = data
    for section in sections:
        child = node.setdefault(section, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: {env_name} names a key inside {section!r}, "
                              "which is not a section")
        node = child
    node[key] = value


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    """One line for the first problem: key, source, reason (never a secret value)."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    source = sources.get(key)
    if source is None and error["type"] == "extra_forbidden":
        # an unknown section arrives as one key; name where its first entry came from
        source = next((src for k, src in sources.items() if k.startswith(key + ".")), None)
    where = f" (from {source})" if source else ""
    more = len(exc.errors()) - 1
    tail = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"config: {key}: {reason}{where}{tail}"


def reference() -> list[tuple[str, str, str, str]]:
    """(key, environment variable, default, description) for every setting — the docs table."""
    rows = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, Section):
                walk(annotation, f"{prefix}{name}.")
                continue
            dotted = f"{prefix}{name}"
            env = ENV_PREFIX + dotted.upper().replace(".", "__")
            description = field.description or ""
            if get_origin(annotation) is dict:  # a table: one entry each, or all as JSON
                description += f" (or the whole table as a JSON object in {env})"
                env += "__<NAME>"
            default = field.default
            if isinstance(default, SecretStr):
                default = default.get_secret_value()
            rows.append((dotted, env, json.dumps(default), description))

    walk(Config, "")
    return rows
