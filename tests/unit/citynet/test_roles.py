"""What `citynet serve --role ...` runs, and the config problems it names (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from citynet.roles import plan
from tests.conftest import make_config

PG = {"url": "postgresql://citynet@127.0.0.1:5432/citynet"}


def config(tmp_path: Path, **sections: Any) -> Any:
    return make_config(tmp_path, **sections)


def test_no_role_is_todays_serve_in_one_process(tmp_path: Path) -> None:
    result = plan([], config(tmp_path), cores=2)
    assert result.roles == {"radius", "web", "collect"}
    assert (result.listeners, result.listeners_apart, result.web, result.collectors) == (
        1, False, "waitress", True)
    assert result.problems == ()


def test_no_role_leaves_radius_out_when_it_has_nothing_to_run(tmp_path: Path) -> None:
    result = plan([], config(tmp_path, radius={"enabled": False}), cores=2)
    assert result.roles == {"web", "collect"} and result.problems == ()


def test_several_listeners_run_as_children(tmp_path: Path) -> None:
    result = plan(["radius"], config(tmp_path, radius={"processes": 2}), cores=2)
    assert (result.listeners, result.listeners_apart, result.web) == (2, True, None)
    child = plan(["radius"], config(tmp_path, radius={"processes": 2}), cores=2, child=True)
    assert (child.listeners, child.listeners_apart) == (1, False)


@pytest.mark.parametrize(("processes", "child", "listener", "shares"), [
    (1, False, None, False),  # the node's only listener, in serve itself
    (2, True, 1, True),  # one of a serve's listener children
    (1, True, 1, False),  # the one listener child beside gunicorn
    (1, False, 3, True),  # a systemd unit citynet-radius@3, beside @1 and @2
])
def test_only_a_nodes_several_listeners_share_their_ports(
        tmp_path: Path, processes: int, child: bool, listener: int | None,
        shares: bool) -> None:
    """SO_REUSEPORT lets any socket of the user that sets it join the port unseen: only
    the listeners meant to share one set it."""
    result = plan(["radius"], config(tmp_path, radius={"processes": processes}), cores=4,
                  child=child, listener=listener)
    assert result.share_ports is shares


def test_gunicorn_beside_radius_puts_the_listener_in_a_child(tmp_path: Path) -> None:
    result = plan(["web", "radius"], config(tmp_path, web={"workers": 2}, database=PG),
                  cores=2)
    assert (result.web, result.listeners, result.listeners_apart) == ("gunicorn", 1, True)
    assert result.problems == ()


@pytest.mark.parametrize(("roles", "sections", "key", "fatal"), [
    (["radios"], {}, "--role", True),
    (["radius"], {"radius": {"enabled": False}}, "radius.enabled", True),
    (["radius"], {"radius": {"processes": 2, "auth_port": 0}}, "radius.auth_port", True),
    (["radius"], {"radius": {"processes": 2, "enabled": False, "rest_token": "t" * 20,
                             "rest_port": 0}}, "radius.rest_port", True),
    (["radius"], {"radius": {"processes": 3}}, "radius.processes", False),
    (["web"], {"web": {"workers": 2}}, "web.workers", False),
    (["radius"], {"radius": {"node": 1}}, "radius.node", False),  # SQLite: chain 0 anyway
    (["radius"], {"radius": {"node": 1}, "database": {"url": "sqlite:////tmp/c.sqlite3"}},
     "radius.node", False),  # a SQLite URL given, the same
])
def test_problems_name_their_key(tmp_path: Path, roles: list[str], sections: dict[str, Any],
                                 key: str, fatal: bool) -> None:
    [problem] = plan(roles, config(tmp_path, **sections), cores=2).problems
    assert (problem.key, problem.fatal) == (key, fatal)
    assert str(problem).startswith(f"{key}: ")


def test_a_node_number_on_postgresql_is_fine(tmp_path: Path) -> None:
    assert plan(["radius"], config(tmp_path, radius={"node": 1}, database=PG),
                cores=2).problems == ()


def test_radius_role_on_the_rest_api_alone_is_fine(tmp_path: Path) -> None:
    result = plan(["radius"], config(tmp_path, radius={"enabled": False,
                                                      "rest_token": "t" * 20}), cores=2)
    assert result.problems == () and result.listeners == 1


def test_several_workers_on_postgresql_and_listeners_within_the_cores(tmp_path: Path) -> None:
    result = plan(["web", "radius", "collect"], config(
        tmp_path, web={"workers": 4}, radius={"processes": 2}, database=PG), cores=2)
    assert result.problems == ()


@pytest.mark.parametrize(("bind", "address"), [("127.0.0.1", "127.0.0.1:8080"),
                                               ("::1", "[::1]:8080")])
def test_gunicorn_runs_threaded_workers(bind: str, address: str) -> None:
    from citynet.config import WebConfig
    from citynet.webworkers import options

    settings = options(WebConfig(bind=bind, workers=3, threads=4))
    assert settings["worker_class"] == "gthread"  # never sync: rlm_rest keeps connections
    assert (settings["workers"], settings["threads"], settings["bind"]) == (3, 4, [address])
    assert settings["preload_app"] is False  # each worker builds its own app


def test_warnings_are_logged_and_errors_stop_start_up(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from citynet.errors import ConfigError
    from citynet.roles import checked

    checked(["radius"], config(tmp_path, radius={"processes": 64}))
    assert "config: radius.processes: 64 listener processes on" in caplog.text
    with pytest.raises(ConfigError, match=r"^config: radius\.enabled: "):
        checked(["radius"], config(tmp_path, radius={"enabled": False}))


class _Listener:
    def __init__(self, once: bool) -> None:
        self.once_per_node = once

    def describe(self) -> str:
        return "a service"

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_once_per_node_services_run_in_the_first_listener_only() -> None:
    from citynet.roles import listener_argv, radius_services

    shared, once = _Listener(False), _Listener(True)
    assert radius_services([shared, once], None) == [shared, once]  # the only process
    assert radius_services([shared, once], 1) == [shared, once]
    assert radius_services([shared, once], 2) == [shared]
    assert listener_argv(None, 2)[-4:] == ["--role", "radius", "--listener", "2"]


def test_a_serve_of_one_listener_takes_its_number(tmp_path: Path) -> None:
    """A systemd unit citynet-radius@N runs one listener and names it (--listener N)."""
    result = plan(["radius"], config(tmp_path, database=PG), cores=4, listener=3)
    assert (result.listeners, result.listeners_apart, result.problems) == (1, False, ())


@pytest.mark.parametrize("sections", [{"radius": {"processes": 2}, "database": PG},
                                      {"web": {"workers": 2}, "database": PG}],
                         ids=["listeners", "gunicorn"])
def test_a_listener_number_for_a_serve_that_numbers_its_own_children_is_refused(
        tmp_path: Path, sections: dict[str, Any]) -> None:
    """Its children would be listeners 1..N whatever was given: on another unit's chains."""
    roles = ["radius", "web"] if "web" in sections else ["radius"]
    [problem] = plan(roles, config(tmp_path, **sections), cores=2, listener=2).problems
    assert (problem.key, problem.fatal) == ("--listener", True)
    assert str(problem).startswith("--listener: is 2, but this serve starts its own listeners")
    assert plan(roles, config(tmp_path, **sections), cores=2, child=True,
                listener=2).problems == ()  # the children themselves


def test_gunicorns_own_lines_go_through_citynets_logging(
        caplog: pytest.LogCaptureFixture) -> None:
    """A worker killed is logged by gunicorn's master: in citynet's log format (JSON with
    logging.format = "json"), through the root logger, not by a handler of gunicorn's."""
    from gunicorn.config import Config as GunicornConfig

    from citynet.config import WebConfig
    from citynet.webworkers import options

    settings = GunicornConfig()
    for key, value in options(WebConfig(workers=2)).items():
        settings.set(key, value)
    gunicorn_log = settings.logger_class(settings)
    gunicorn_log.error("Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?", 4242)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("gunicorn.error", "Worker (pid:4242) was sent SIGKILL! Perhaps out of memory?")]
    assert gunicorn_log.error_log.handlers == []  # no line in gunicorn's own format


@pytest.mark.parametrize(("listener", "child", "warned"), [
    (3, False, True),  # citynet-radius@3 on 2 cores: units 1..3 share them
    (2, False, False),
    (3, True, False),  # a serve's child: its parent warned of radius.processes
])
def test_a_listener_unit_above_the_cores_is_warned_of(
        tmp_path: Path, listener: int, child: bool, warned: bool) -> None:
    result = plan(["radius"], config(tmp_path), cores=2, child=child, listener=listener)
    assert [(p.key, p.fatal) for p in result.problems] == (
        [("--listener", False)] if warned else [])
