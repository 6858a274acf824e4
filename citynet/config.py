"""Configuration: one TOML file plus ``CITYNET_<SECTION>__<KEY>`` environment overrides.

Everything is validated once, at start-up. A wrong value stops start-up with a single
line that names the key, where the value came from, and what is wrong with it. The kernel
declares its own sections; each domain declares its own in its manifest
(``config_sections``), and :class:`Config` composes them (docs/architecture.md).

Over 400 lines on purpose: the reading (TOML, environment, libpq URLs), the composition
of the domains' sections, the reference's rows and the kernel's own sections are one
concern, and each part is short.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_origin
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, InitErrorDetails
from sqlalchemy.engine import URL, make_url

from citynet.catalogs import gettext as _
from citynet.errors import ConfigError

ENV_PREFIX = "CITYNET_"
MASK = "********"
# Variables with the prefix that are not config keys.
ENV_NOT_KEYS = frozenset({"CITYNET_CONFIG", "CITYNET_DEVICE_USERNAME", "CITYNET_DEVICE_PASSWORD",
                          "CITYNET_DEVICE_KEY_FILE"})  # device logins: devices/targets.py


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


POSTGRES_PORT = 5432


def host_and_port(entry: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (one entry of a libpq host list)."""
    host, port = entry, ""
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise ValueError(_("host %(entry)r: an IPv6 address goes in brackets: "
                               "[::1]:5432", entry=entry))
        port = port[1:]
    elif ":" in entry:
        host, _colon, port = entry.rpartition(":")
        if ":" in host:
            raise ValueError(_("host %(entry)r: an IPv6 address goes in brackets: "
                               "[::1]:5432", entry=entry))
    if not host:
        raise ValueError(_("host %(entry)r has no name or address", entry=entry))
    if not port:
        return host, POSTGRES_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(_("host %(entry)r: port %(port)r is not a number from 1 to 65535",
                           entry=entry, port=port))
    return host, int(port)


def store_url(raw: str) -> URL:
    """A database URL as SQLAlchemy takes it. Besides SQLAlchemy's own forms, PostgreSQL
    URLs may list several hosts the libpq way (``postgresql://u@h1:5432,h2:5432/db``, for a
    Patroni pair): they become the ``?host=h1,h2&port=5432,5432`` form, which the psycopg
    dialect hands to libpq — and which, unlike ``host=h:p`` pairs, keeps IPv6 intact.
    libpq's other scheme, ``postgres://``, is ``postgresql://`` (SQLAlchemy knows only
    the long one)."""
    if raw.startswith(("postgres://", "postgres+")):
        raw = "postgresql" + raw.removeprefix("postgres")
    parts = urlsplit(raw)
    userinfo, _at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return make_url(raw)
    if not parts.scheme.startswith("postgresql"):
        raise ValueError(_("several hosts (h1,h2) are for PostgreSQL URLs only"))
    if {"host", "port"} & {key for key, _value in parse_qsl(parts.query)}:
        raise ValueError(_("hosts are listed either in the URL (h1:5432,h2:5432) or as "
                           "?host=, not both"))
    pairs = [host_and_port(entry) for entry in hosts.split(",")]
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
                raise ValueError(_("backend %(backend)r is not supported (sqlite or postgresql)",
                                   backend=backend))
        return value


class WebConfig(Section):
    bind: str = Field(default="127.0.0.1", description="address the web app listens on")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port of the web app")
    # a Portal-protocol login holds its thread while the AC answers (docs/portal.md)
    threads: int = Field(default=32, ge=1, le=256,
                         description="web worker threads (per worker process)")
    workers: int = Field(
        default=1, ge=1, le=64,
        description="web worker processes: 1 serves the web app with waitress threads in "
        "the `citynet serve` process; more run it under gunicorn (gthread workers, "
        "web.threads each; docs/operations.md)")
    # behind nginx every request comes from 127.0.0.1: the AC's redirect names the phone's
    # address, and the audit log, SMS limits and /metrics need the client's
    proxies: int = Field(
        default=0, ge=0, le=4,
        description="reverse proxies in front that set X-Forwarded-For and "
        "X-Forwarded-Proto (deploy/nginx: 1); the client's address and scheme are read "
        "from them. 0: the web app faces its clients itself and trusts no such header")
    staff_idle_minutes: int = Field(default=30, ge=1, le=24 * 60,
                                    description="a staff session ends after this long idle")
    staff_session_hours: int = Field(default=12, ge=1, le=168,
                                     description="a staff session ends this long after login")
    staff_source_failures: int = Field(
        default=50, ge=0, description="failed staff sign-ins (passwords and codes) from one "
        "address, over any names, after which that address is held for the rest of 15 "
        "minutes (0: no hold; an office behind NAT is one address for all its staff)")


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


MAX_RADIUS_SERVERS = 2  # CoovaChilli names two (radiusserver1/2); every NAS template two
# a node's RADIUS listener processes at most (radius.processes, `serve --listener N`); also
# how many login-record chains each node's number spans (docs/radius.md)
MAX_RADIUS_LISTENERS = 64


def comma_list(value: object) -> object:
    """A list given as one comma-separated string (an environment variable)."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(
        value, str) else value


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
        return comma_list(value)

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item)  # ValueError names the bad one
        return value


# where the kernel's sections stand among every section (``citynet config show``, the
# reference table); each domain places its own in its manifest. A kernel section not
# named here goes last.
KERNEL_ORDER = {"database": 10, "web": 20, "secrets": 90, "demo": 100, "logging": 110,
                "metrics": 120}
LAST = 1000

S = TypeVar("S", bound=BaseModel)


def sections() -> dict[str, type[BaseModel]]:
    """Every section, name → model, in their order: the kernel's and the registered
    domains' (``Domain.config_sections``)."""
    from citynet.domains import registered

    placed: list[tuple[int, str, type[BaseModel]]] = [
        (KERNEL_ORDER.get(name, LAST), name, model) for name, model in _kernel_sections()]
    placed += [(part.order, part.name, part.model) for domain in registered()
               for part in domain.config_sections]
    names = [name for _order, name, _model in placed]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(_("config: section [%(section)s] is declared twice (a domain's "
                            "manifest and the kernel, or two manifests)", section=twice[0]))
    return {name: model for _order, name, model in sorted(placed, key=lambda p: p[0])}


def _kernel_sections() -> list[tuple[str, type[Section]]]:
    """The kernel's own sections: the fields of :class:`Config` that are sections."""
    return [(name, field.annotation) for name, field in Config.model_fields.items()
            if isinstance(field.annotation, type) and issubclass(field.annotation, Section)]


def _domain_sections() -> dict[str, type[BaseModel]]:
    kernel = {name for name, _model in _kernel_sections()}
    return {name: model for name, model in sections().items() if name not in kernel}


class Config(Section):
    """The kernel's settings, and each registered domain's section beside them (kept as
    pydantic extras, validated by the domain's model). Domains read theirs typed with
    :meth:`section`: ``config.section(RadiusConfig).auth_port``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    data_dir: str = Field(default="./var", description="where the embedded store and keys live")
    database: DatabaseConfig = DatabaseConfig()
    web: WebConfig = WebConfig()
    secrets: SecretsConfig = SecretsConfig()
    demo: DemoConfig = DemoConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()

    if TYPE_CHECKING:  # a domain's section by name (config.radius) reads untyped
        def __getattr__(self, name: str) -> Any: ...

    @model_validator(mode="wrap")
    @classmethod
    def _with_domains(cls, data: Any, handler: ModelWrapValidatorHandler[Config]) -> Config:
        """Each registered domain's section validated by its model; an unknown section is
        an unknown key; problems reported in the order of the sections."""
        if not isinstance(data, Mapping):
            return handler(data)
        domains = _domain_sections()
        values = {key: value for key, value in data.items() if key not in domains}
        problems: list[InitErrorDetails] = [
            _problem({"type": "extra_forbidden", "loc": (key,), "input": values.pop(key)})
            for key in list(values) if key not in cls.model_fields]
        for name, model in domains.items():
            raw = data.get(name, {})
            try:
                values[name] = raw if isinstance(raw, model) else model.model_validate(raw)
            except ValidationError as exc:
                problems += [_problem({**error, "loc": (name, *error["loc"])})
                             for error in exc.errors()]
        try:
            config = handler(values)
        except ValidationError as exc:
            problems += [_problem(error) for error in exc.errors()]
        if problems:
            order = list(sections())
            problems.sort(key=lambda p: order.index(str(p["loc"][0]))
                          if p["loc"] and p["loc"][0] in order else -1)
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return config

    def section(self, model: type[S]) -> S:
        """A domain's section, typed: ``config.section(PortalConfig)``."""
        for value in (self.__pydantic_extra__ or {}).values():
            if type(value) is model:
                return value
        raise ConfigError(_("config: no section is a %(model)s: is its domain registered?",
                            model=model.__name__))

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
            sources.update({f"{dotted}.{key}": _("environment %(variable)s", variable=name)
                            for key in table})
        else:
            _set_dotted(data, dotted, value, name)
        sources[dotted] = _("environment %(variable)s", variable=name)
    return from_dict(data, sources)


def _is_table(dotted: str) -> bool:
    """The key names a table-valued setting (``monitoring.intervals``), not a section."""
    *path, key = dotted.split(".")
    if not path:
        return False
    model: type[BaseModel] | None = sections().get(path[0])
    for name in path[1:]:
        field = model.model_fields.get(name) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(
            annotation, BaseModel) else None
    field = model.model_fields.get(key) if model is not None else None
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
        raise ConfigError(_("config: %(key)s: %(variable)s must be a JSON object, e.g. "
                            "'{\"name\": 60}'; or set one entry: %(variable)s__NAME=60",
                            key=dotted, variable=env_name))
    return table


def from_dict(data: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> Config:
    """Validate a plain dict (tests build configs this way)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources or {})) from None


def effective(config: Config) -> dict[str, Any]:
    """The config as a dict with every secret masked, for ``citynet config show``: the
    sections in their order, a set secret as ``MASK``, and what a section's ``shown``
    hides (URLs with tokens in them)."""
    dumped = config.model_dump(mode="json")
    shown: dict[str, Any] = {"data_dir": dumped["data_dir"]}
    for name in sections():
        part = getattr(config, name)
        values = dumped[name]
        for key in type(part).model_fields:
            secret = getattr(part, key)
            if isinstance(secret, SecretStr) and secret.get_secret_value():
                values[key] = MASK
        hide = getattr(part, "shown", None)
        shown[name] = hide(values) if callable(hide) else values
    shown["database"]["url"] = shown_url(store_url(config.database_url))
    return shown


def _problem(error: ErrorDetails | dict[str, Any]) -> InitErrorDetails:
    """A validation problem as pydantic takes it back (to report all in one error)."""
    problem = InitErrorDetails(type=error["type"], loc=tuple(error["loc"]),
                               input=error["input"])
    if error.get("ctx"):
        problem["ctx"] = error["ctx"]
    return problem


def __getattr__(name: str) -> Any:
    """A domain's section model by its class name (``RadiusConfig``), for callers that
    knew it here before it moved into its domain."""
    if name.startswith("__"):  # the import system asks for __path__: no registry for it
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for model in _domain_sections().values():
        if model.__name__ == name:
            return model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(_("%(path)s: cannot read config file: %(reason)s", path=path,
                            reason=exc.strerror)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("%(path)s: not valid TOML: %(reason)s", path=path,
                            reason=exc)) from None


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
            raise ConfigError(_("%(key)s: %(variable)s names a key inside %(section)r, "
                                "which is not a section", key=dotted, variable=env_name,
                                section=section))
        node = child
    node[key] = value


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    """One line for the first problem: key, source, reason (never a secret value)."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    # pydantic's own reasons stay as it words them (English), like click's usage errors
    reason = _("unknown key") if error["type"] == "extra_forbidden" else error["msg"]
    source = sources.get(key)
    if source is None and error["type"] == "extra_forbidden":
        # an unknown section arrives as one key; name where its first entry came from
        source = next((src for k, src in sources.items() if k.startswith(key + ".")), None)
    line = (_("config: %(key)s: %(reason)s (from %(source)s)", key=key, reason=reason,
              source=source) if source
            else _("config: %(key)s: %(reason)s", key=key, reason=reason))
    more = len(exc.errors()) - 1
    if more > 1:
        return _("%(problem)s; and %(count)s more problems", problem=line, count=more)
    return _("%(problem)s; and 1 more problem", problem=line) if more else line


def reference() -> list[tuple[str, str, str, str]]:
    """(key, environment variable, default, description) for every setting — the docs table."""
    rows = []

    def walk(fields: Mapping[str, FieldInfo], prefix: str) -> None:
        for name, field in fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, Section):
                walk(annotation.model_fields, f"{prefix}{name}.")
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

    kernel = {name for name, _model in _kernel_sections()}
    walk({name: field for name, field in Config.model_fields.items()
          if name not in kernel}, "")  # the kernel's own keys (data_dir)
    for name, model in sections().items():
        walk(model.model_fields, f"{name}.")
    return rows
