"""Config: file + environment, validated at start-up with one line naming the key."""

from pathlib import Path

import pytest

from citynet import config
from citynet.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "citynet.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file() -> None:
    cfg = config.load(None, environ={})
    assert cfg.web.port == 8080
    assert cfg.database_url.startswith("sqlite:///")
    assert cfg.database_url.endswith("/var/citynet.sqlite3")
    assert cfg.key_path == cfg.data_path / "secret.key"


def test_file_and_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, '[web]\nport = 9000\nbind = "127.0.0.2"\n')
    cfg = config.load(path, environ={"CITYNET_WEB__PORT": "9100",
                                     "CITYNET_DATA_DIR": str(tmp_path / "d")})
    assert cfg.web.port == 9100  # environment wins over the file
    assert cfg.web.bind == "127.0.0.2"
    assert cfg.data_path == (tmp_path / "d").resolve()


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[web]\nthreads = 3\n")
    assert config.load(None, environ={"CITYNET_CONFIG": str(path)}).web.threads == 3


@pytest.mark.parametrize(("text", "environ", "message"), [
    ("[web]\nprot = 1\n", {}, "config: web.prot: unknown key (from {path})"),
    ("[webb]\nport = 1\n", {}, "config: webb: unknown key (from {path})"),
    ('[web]\nport = "x"\n', {}, "config: web.port: Input should be a valid integer"),
    ("[web]\nport = 70000\n", {}, "config: web.port: Input should be less than or equal to 65535"),
    ("", {"CITYNET_WEB__PORT": "eighty"},
     "config: web.port: Input should be a valid integer, unable to parse string as an integer "
     "(from environment CITYNET_WEB__PORT)"),
    ("", {"CITYNET_RADIUS__AUTH_PROT": "1812"},
     "config: radius.auth_prot: unknown key (from environment CITYNET_RADIUS__AUTH_PROT)"),
    ("", {"CITYNET_TELEMETRY__URL": "x"},
     "config: telemetry: unknown key (from environment CITYNET_TELEMETRY__URL)"),
    ("", {"CITYNET_LOGGING__LEVEL": "LOUD"}, "config: logging.level: Input should be 'DEBUG'"),
    ('[database]\nurl = "mysql://x@y/z"\n', {},
     "config: database.url: Value error, backend 'mysql' is not supported"),
    ("[radius]\nnode = 64\n", {},
     "config: radius.node: Input should be less than or equal to 63 (from {path})"),
    ("", {"CITYNET_RADIUS__NODE": "-1"},
     "config: radius.node: Input should be greater than or equal to 0 "
     "(from environment CITYNET_RADIUS__NODE)"),
])
def test_bad_values_name_the_key(tmp_path: Path, text: str, environ: dict[str, str],
                                 message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load(path, environ=environ)
    assert str(caught.value).startswith(message.format(path=path))
    assert "\n" not in str(caught.value)


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[web]\nport = = 3\n")
    with pytest.raises(ConfigError, match=rf"^{path}: not valid TOML: .*line 2"):
        config.load(path, environ={})


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file: No such file"):
        config.load(tmp_path / "missing.toml", environ={})


def test_secret_values_never_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(None, environ={"CITYNET_SECRETS__KEY": "s3cret-value",
                                   "CITYNET_SECRETS__BOGUS": "x"})
    assert "s3cret-value" not in str(caught.value)


def test_effective_config_masks_secrets() -> None:
    cfg = config.from_dict({
        "database": {"url": "postgresql://citynet:hunter2@db.example:5432/citynet"},
        "secrets": {"key": "a-fernet-key"},
    })
    shown = config.effective(cfg)
    text = repr(shown)
    assert "hunter2" not in text and "a-fernet-key" not in text
    assert shown["database"]["url"] == "postgresql://citynet:***@db.example:5432/citynet"
    assert shown["secrets"]["key"] == "********"


def test_reference_lists_every_setting_with_its_variable() -> None:
    rows = {key: env for key, env, _default, _desc in config.reference()}
    assert rows["web.port"] == "CITYNET_WEB__PORT"
    assert rows["data_dir"] == "CITYNET_DATA_DIR"
    assert rows["database.url"] == "CITYNET_DATABASE__URL"


def test_the_radius_service_has_work_with_its_ports_or_the_rest_api() -> None:
    assert config.RadiusConfig().has_work  # the UDP listener, by default
    assert config.RadiusConfig(enabled=False, rest_token="t").has_work  # FreeRADIUS in front
    assert not config.RadiusConfig(enabled=False).has_work


@pytest.mark.parametrize("environ", [
    {"CITYNET_MONITORING__INTERVALS__COVERAGE": "3600"},
    {"CITYNET_MONITORING__INTERVALS": '{"coverage": 3600}'},
    {"CITYNET_MONITORING__INTERVALS": "{coverage = 3600}"},  # as the TOML file writes it
])
def test_a_table_valued_key_is_set_from_the_environment(environ: dict[str, str]) -> None:
    assert config.load(None, environ=environ).monitoring.intervals == {"coverage": 3600}


def test_table_entries_from_file_json_and_variables_merge(tmp_path: Path) -> None:
    path = write(tmp_path, "[monitoring]\nintervals = {coverage = 60, reachability = 30}\n")
    assert config.load(path, environ={
        "CITYNET_MONITORING__INTERVALS__COVERAGE": "3600"}).monitoring.intervals == {
        "coverage": 3600, "reachability": 30}  # one entry changed, the file's others kept
    assert config.load(path, environ={
        "CITYNET_MONITORING__INTERVALS": '{"alerts": 5}',  # the whole table replaced...
        "CITYNET_MONITORING__INTERVALS__COVERAGE": "7"}).monitoring.intervals == {
        "alerts": 5, "coverage": 7}  # ...and an entry variable applied on top


@pytest.mark.parametrize(("environ", "message"), [
    ({"CITYNET_MONITORING__INTERVALS": "3600"},
     "config: monitoring.intervals: CITYNET_MONITORING__INTERVALS must be a JSON object, "
     """e.g. '{"name": 60}'; or set one entry: CITYNET_MONITORING__INTERVALS__NAME=60"""),
    ({"CITYNET_MONITORING__INTERVALS": '{"coverage": "soon"}'},
     "config: monitoring.intervals.coverage: Input should be a valid number, unable to parse "
     "string as a number (from environment CITYNET_MONITORING__INTERVALS)"),
    ({"CITYNET_MONITORING__INTERVALS__COVERAGE": "soon"},
     "config: monitoring.intervals.coverage: Input should be a valid number, unable to parse "
     "string as a number (from environment CITYNET_MONITORING__INTERVALS__COVERAGE)"),
])
def test_a_bad_table_from_the_environment_names_the_variable(environ: dict[str, str],
                                                             message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(None, environ=environ)
    assert str(caught.value) == message


def test_the_reference_gives_a_tables_variables() -> None:
    rows = {key: (env, desc) for key, env, _default, desc in config.reference()}
    env, description = rows["monitoring.intervals"]
    assert env == "CITYNET_MONITORING__INTERVALS__<NAME>"
    assert description.endswith("(or the whole table as a JSON object in "
                                "CITYNET_MONITORING__INTERVALS)")


def test_login_methods_in_order_per_hotspot(tmp_path: Path) -> None:
    path = write(tmp_path, '[portal]\nlogin_methods = ["voucher", "sms"]\n'
                 '[portal.login_methods_by_nas]\n"gw-7" = ["sms", "voucher", "app"]\n')
    portal = config.load(path, {}).portal
    assert portal.methods_at("gw-7") == ["sms", "voucher", "app"]
    assert portal.methods_at("another") == ["voucher", "sms"]
    assert config.load(None, {"CITYNET_PORTAL__LOGIN_METHODS": "app, sms"}).portal.methods_at(
        "gw-7") == ["app", "sms"]
    assert config.load(None, {}).portal.app_enrolment is False  # public WiFi: no invitation


@pytest.mark.parametrize("methods", ["sms,wechat", "sms,sms", ""])
def test_unknown_repeated_or_no_login_methods_are_refused(methods: str) -> None:
    with pytest.raises(ConfigError, match=r"portal\.login_methods"):
        config.load(None, {"CITYNET_PORTAL__LOGIN_METHODS": methods})


def connect_args(raw: str) -> dict[str, object]:
    """What the psycopg dialect hands libpq for the URL ``raw``."""
    url = config.store_url(raw).set(drivername="postgresql+psycopg")
    return url.get_dialect()().create_connect_args(url)[1]


@pytest.mark.parametrize(("raw", "hosts", "ports"), [
    # libpq's spelling (a Patroni pair)
    ("postgresql://citynet@h1:5432,h2:5433/citynet?target_session_attrs=read-write",
     "h1,h2", "5432,5433"),
    ("postgresql://citynet@[::1]:5432,[fd00::2]:6432/citynet", "::1,fd00::2", "5432,6432"),
    ("postgresql://citynet@h1,[fd00::2]/citynet", "h1,fd00::2", "5432,5432"),  # default port
    # SQLAlchemy's spelling, passed through as it was
    ("postgresql://citynet@/citynet?host=h1:5432&host=h2:5433", "h1,h2", "5432,5433"),
    # libpq's short scheme, one host or several
    ("postgres://citynet@h1:5432/citynet", "h1", 5432),
    ("postgres://citynet@h1:5432,h2:5433/citynet", "h1,h2", "5432,5433"),
])
def test_multi_host_urls_reach_libpq_as_host_lists(raw: str, hosts: str,
                                                  ports: str | int) -> None:
    args = connect_args(raw)
    assert (args["host"], args["port"], args["user"], args["dbname"]) == (
        hosts, ports, "citynet", "citynet")


def test_multi_host_url_keeps_credentials_and_options() -> None:
    args = connect_args("postgresql://citynet:p%40ss@h1:5432,h2:5432/citynet"
                        "?target_session_attrs=read-write&connect_timeout=3")
    assert args["password"] == "p@ss"
    assert args["target_session_attrs"] == "read-write"
    assert args["connect_timeout"] == "3"


def test_multi_host_url_accepted_by_config_and_shown_without_password() -> None:
    cfg = config.load(None, environ={
        "CITYNET_DATABASE__URL": "postgresql://citynet:hunter2@h1:5432,h2:5432/citynet"
                                 "?target_session_attrs=read-write"})
    assert config.effective(cfg)["database"]["url"] == (
        "postgresql://citynet:***@/citynet?host=h1,h2&port=5432,5432"
        "&target_session_attrs=read-write")


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://u@h1:5432,h2:fifty/db", "host 'h2:fifty': port 'fifty' is not a number"),
    ("postgresql://u@h1:5432,h2:70000/db", "host 'h2:70000': port '70000' is not a number "
                                           "from 1 to 65535"),
    ("postgresql://u@h1,::1/db", "host '::1': an IPv6 address goes in brackets"),
    ("postgresql://u@h1,[::1/db", "Invalid IPv6 URL"),  # urllib's words
    ("postgresql://u@h1,:5432/db", "host ':5432' has no name or address"),
    ("postgresql://u@h1,h2/db?host=h3", "hosts are listed either in the URL"),
    ("sqlite://u@h1,h2/db", "several hosts (h1,h2) are for PostgreSQL URLs only"),
])
def test_bad_multi_host_urls_name_the_key_and_the_host(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(None, environ={"CITYNET_DATABASE__URL": url})
    assert str(caught.value).startswith(f"config: database.url: Value error, {message}")


def test_the_cluster_s_radius_servers() -> None:
    assert config.load(None, {}).radius.servers == ["127.0.0.1"]  # as before: this node
    both = config.load(None, {"CITYNET_RADIUS__SERVERS": "10.1.0.10, 10.2.0.10"})
    assert both.radius.servers == ["10.1.0.10", "10.2.0.10"]


@pytest.mark.parametrize(("value", "problem"), [
    ("radius-1", "'radius-1' is not an IP address"),
    ("10.1.0.10,10.1.0.10", "a server is named twice"),
    ("10.0.0.1,10.0.0.2,10.0.0.3", "at most 2 items"),
    ("", "at least 1 item")])
def test_radius_servers_are_addresses_two_at_most(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=r"radius\.servers") as caught:
        config.load(None, {"CITYNET_RADIUS__SERVERS": value})
    assert problem in str(caught.value)


def test_metrics_allow_and_json_logs() -> None:
    loaded = config.load(None, {"CITYNET_METRICS__ALLOW": "10.1.0.30/32, ::1/128",
                                "CITYNET_LOGGING__FORMAT": "json"})
    assert loaded.metrics.allow == ["10.1.0.30/32", "::1/128"]
    assert config.load(None, {}).metrics.allow == ["127.0.0.1/32", "::1/128"]
    assert loaded.logging.format == "json"
    with pytest.raises(ConfigError, match=r"metrics\.allow"):
        config.load(None, {"CITYNET_METRICS__ALLOW": "everyone"})
