"""The kernel names no domain; the packages import each other without a circle; the
registry orders domains by what they require."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp
import pytest

from citynet.domains import Domain, ordered, registered
from citynet.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
KERNEL = ROOT / "citynet"
DOMAINS = tuple(domain.name for domain in registered())
PACKAGES = ("citynet", *DOMAINS)
KERNEL_BLUEPRINTS = {"admin", "access"}


def _is_module(dotted: str) -> bool:
    """``dotted``'s first two parts name a module or package on disk (``radius.models``)."""
    package, _dot, rest = dotted.partition(".")
    first = rest.split(".")[0].split(":")[0]
    return (ROOT / package / f"{first}.py").is_file() or (
        ROOT / package / first / "__init__.py").is_file()


def domain_references(source: str) -> list[str]:
    """What in a kernel module names a domain: an ``import``/``from … import`` of a domain
    package (or of one of its modules), and a string that is a domain module's dotted path
    (``"radius.models"``, ``"radius.cli:records"`` — as given to ``import_module`` or an
    entry point). A permission or setting name that merely starts with a domain's name
    (``"inventory.read"``, ``"radius.rest_token"``) is no module and does not count."""
    found = []
    path = re.compile(rf"^({'|'.join(DOMAINS)})(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?$")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names
                      if alias.name.split(".")[0] in DOMAINS]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in DOMAINS:
                found.append(node.module)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and path.match(node.value) and _is_module(node.value)):
            found.append(node.value)
    return found


def template_references(text: str) -> list[str]:
    """What in a kernel template names a domain: a ``url_for`` of an endpoint outside the
    kernel's blueprints, or an ``extends``/``include``/``import`` of a template that is not
    the kernel's."""
    endpoints = [name for name in re.findall(r"url_for\(\s*['\"]([^'\"]+)['\"]", text)
                 if "." in name and name.split(".")[0] not in KERNEL_BLUEPRINTS]
    templates = [name for name in re.findall(
        r"{%-?\s*(?:extends|include|import|from)\s+['\"]([^'\"]+)['\"]", text)
        if not (KERNEL / "templates" / name).is_file()]
    return endpoints + templates


def test_the_kernel_names_no_domain() -> None:
    named = {str(path.relative_to(ROOT)): found for path in sorted(KERNEL.rglob("*.py"))
             if (found := domain_references(path.read_text(encoding="utf-8")))}
    named |= {str(path.relative_to(ROOT)): found
              for path in sorted((KERNEL / "templates").rglob("*.html"))
              if (found := template_references(path.read_text(encoding="utf-8")))}
    assert named == {}


@pytest.mark.parametrize("source", [
    "import radius", "import radius.models as m", "from portal.web import setup",
    "x = 'radius.models'", "x = 'monitoring.cli:collect'",
    "importlib.import_module('devices.state')",
])
def test_the_check_finds_what_it_should(source: str) -> None:
    assert domain_references(source)


@pytest.mark.parametrize("source", [
    "require('inventory.read')", "x = 'radius.rest_token'", "from citynet import audit",
    "from . import web", "x = 'devices.'",
])
def test_the_check_leaves_names_that_are_no_module(source: str) -> None:
    assert domain_references(source) == []


def test_a_kernel_template_linking_a_domain_page_is_found() -> None:
    assert template_references("{{ url_for('device_jobs.job', seq=1) }}") == [
        "device_jobs.job"]
    assert template_references('{% extends "portal/base.html" %}') == ["portal/base.html"]
    assert template_references("{{ url_for('admin.home') }}{{ url_for('home') }}") == []


def test_no_import_circle_between_modules() -> None:
    """No module imports itself through others, imports inside functions included;
    imports under ``if TYPE_CHECKING:`` are left out: they never run (annotations are
    strings), and naming a type is no dependency at run time."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    circles = [module for module in sorted(graph.modules)
               if any(graph.find_shortest_chain(importer=imported, imported=module)
                      for imported in graph.find_modules_directly_imported_by(module))]
    assert circles == []


def test_domains_come_after_what_they_require() -> None:
    def domain(name: str, *requires: str) -> Domain:
        return Domain(name=name, requires=requires)

    names = [d.name for d in ordered([domain("portal", "radius", "inventory"),
                                      domain("radius", "inventory"), domain("inventory"),
                                      domain("devices", "inventory")])]
    assert names == ["inventory", "devices", "radius", "portal"]
    with pytest.raises(ConfigError, match="requires radius"):
        ordered([domain("portal", "radius")])
    with pytest.raises(ConfigError, match="circle"):
        ordered([domain("a", "b"), domain("b", "a")])


def test_the_built_in_domains_are_registered_by_entry_points_in_order() -> None:
    assert [d.name for d in registered()] == [
        "admission", "inventory", "devices", "radius", "monitoring", "portal"]
