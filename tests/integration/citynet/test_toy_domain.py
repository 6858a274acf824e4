"""A domain given to the composition roots (no entry point: an explicit list) shows up in
the web app, its menu, the API document, the permissions and the CLI."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import click
from click.testing import CliRunner
from flask import Blueprint

from citynet import staff
from citynet.access import require, role_permissions
from citynet.app import create_app
from citynet.cli import cli, compose
from citynet.config import Config
from citynet.db import Store
from citynet.domains import Domain, MenuEntry, registered
from citynet.schema import KERNEL_TABLES, table_modules
from citynet.staff import Role

toy_pages = Blueprint("toy", __name__, url_prefix="/toy")


@toy_pages.get("/")
@require("toy.read")
def toy_home() -> str:
    return "the toy's page"


@click.command("toy")
def toy_command() -> None:
    """The toy's command."""
    click.echo("the toy's command ran")


def _blueprints() -> Sequence[Blueprint]:
    return (toy_pages,)


def _commands() -> Sequence[click.Command]:
    return (toy_command,)


def _paths() -> dict[str, Any]:
    return {"/toy/": {"get": {"summary": "the toy (toy.read)", "responses": {}}}}


TOY = Domain(name="toy", requires=("inventory",), blueprints=_blueprints, commands=_commands,
             tables=("tests.integration.citynet.test_toy_domain",),
             permissions={"toy.read": frozenset({Role.MANAGER})},
             menu=(MenuEntry("toy.toy_home", "toy.read", "Toy", 15),),
             openapi_paths=_paths)


def _token(store: Store, name: str, role: Role) -> dict[str, str]:
    with store.session() as session:
        staff.add(session, name, role, "correct horse battery staple 42")
        return {"Authorization": f"Bearer {staff.issue_token(session, name, 'toy')}"}


def test_a_toy_domain_joins_the_web_app_its_menu_and_the_api_document(
        sqlite_store: Store, sqlite_config: Config) -> None:
    app = create_app(sqlite_store, sqlite_config, domains=[*registered(), TOY],
                     test_config={"TESTING": True})
    client = app.test_client()
    manager = _token(sqlite_store, "wang", Role.MANAGER)
    operator = _token(sqlite_store, "li", Role.OPERATOR)
    assert client.get("/toy/", headers=manager).get_data(as_text=True) == "the toy's page"
    assert client.get("/toy/", headers=operator).status_code == 403
    menu = client.get("/admin/?lang=en", headers=manager).get_data(as_text=True)
    assert "Toy" in menu and menu.index("Dashboard") < menu.index("Toy") < menu.index(
        "Inventory")  # placed by its order among the others
    assert "Toy" not in client.get("/admin/?lang=en", headers=operator).get_data(as_text=True)
    assert "/toy/" in client.get("/api/openapi.json").get_json()["paths"]
    whoami = client.get("/admin/whoami.json", headers=manager).get_json()
    assert "toy.read" in whoami["permissions"]


def test_the_registered_app_knows_nothing_of_the_toy(sqlite_store: Store,
                                                     sqlite_config: Config) -> None:
    app = create_app(sqlite_store, sqlite_config, test_config={"TESTING": True})
    assert "toy.toy_home" not in app.view_functions
    assert app.test_client().get("/toy/").status_code == 404


def test_a_toy_domain_has_its_permissions_tables_and_commands() -> None:
    grants = role_permissions([*registered(), TOY])
    assert "toy.read" in grants[Role.MANAGER] and "toy.read" in grants[Role.ADMIN]
    assert "toy.read" not in grants[Role.AUDITOR]
    assert "inventory.read" in grants[Role.MANAGER]  # the others' stay
    assert table_modules([TOY]) == (*KERNEL_TABLES, "tests.integration.citynet.test_toy_domain")
    root = copy.copy(cli)
    root.commands = dict(cli.commands)
    compose(root, [TOY])
    result = CliRunner().invoke(root, ["toy"])
    assert result.exit_code == 0 and result.output == "the toy's command ran\n"
    assert "toy" not in cli.commands  # the registered command line is untouched
