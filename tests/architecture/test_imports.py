"""Every module of the hub imports only along DESIGN.md's arrows (see tests/architecture/rules.py),
and the rules catch what they should: a parametrised set of made-up modules that break them,
and of ones that do not."""

from __future__ import annotations

import pytest

from tests.architecture.rules import modules, violations


def test_every_module_imports_along_the_arrows() -> None:
    found = [str(v) for name, path, is_package in modules()
             for v in violations(name, path.read_text(encoding="utf-8"), is_package)]
    assert not found, "imports against DESIGN.md's arrows:\n" + "\n".join(found)


def test_the_packages_are_all_walked() -> None:
    names = {name for name, _, _ in modules()}
    assert {"huitong.app", "schema.build", "resolvers.lists", "connectors.gateway",
            "auth.model.catalog", "auth.audit.store", "supervision", "publishing",
            "portal"} <= names


BROKEN = [
    ("connectors.sql.connector", "import strawberry",
     "strawberry", "connectors never imports strawberry"),
    ("connectors.rest.http", "def later():\n    from starlette.requests import Request\n",
     "starlette.requests.Request", "connectors never imports starlette"),
    ("auth.audit.records",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from graphql import parse\n",
     "graphql.parse", "auth never imports graphql"),
    ("supervision.scanner", "import graphql", "graphql", "supervision never imports graphql"),
    ("publishing.exports", "from strawberry import Schema", "strawberry.Schema",
     "publishing never imports strawberry"),
    ("connectors.gateway", "from resolvers.errors import bad_input", "resolvers.errors.bad_input",
     "connectors may not import resolvers"),
    ("resolvers.lists", "from huitong.app import create_app", "huitong.app.create_app",
     "resolvers may not import huitong"),
    ("resolvers.gateway", "from ..huitong import app", "huitong.app",
     "resolvers may not import huitong"),
    ("schema.build", "import huitong.hub", "huitong.hub", "schema may not import huitong"),
    ("connectors.base", "from schema.build import build_schemas", "schema.build.build_schemas",
     "connectors may not import schema"),
    ("supervision.scanner", "from publishing.exports import stream", "publishing.exports.stream",
     "supervision and publishing do not import each other"),
    ("publishing", "from supervision import rules", "supervision.rules",
     "supervision and publishing do not import each other"),
    ("auth.access.policy", "from connectors.base import Row", "connectors.base.Row",
     "auth imports none of the other packages"),
    ("auth.model.catalog", "from auth.access.policy import Policy", "auth.access.policy.Policy",
     "auth.model is the pure base"),
    ("auth.model.regions", "from ..identity import principal", "auth.identity.principal",
     "auth.model is the pure base"),
    ("auth.identity.tokens", "from auth.audit import AuditStore", "auth.audit.AuditStore",
     "auth.identity may not import auth.audit"),
    ("auth.access.scope", "from auth.audit.access_log import AccessLog",
     "auth.audit.access_log.AccessLog", "auth.access may not import auth.audit"),
    ("auth.audit.store", "from auth.sharing import grants", "auth.sharing.grants",
     "auth.audit may not import auth.sharing"),
    ("portal.pages", "from schema.build import build_schemas", "schema.build.build_schemas",
     "the portal reads only through the GraphQL front door"),
    ("portal.pages", "from auth.access.policy import load_policy",
     "auth.access.policy.load_policy", "the portal reads only through the GraphQL front door"),
    ("portal.pages", "import huitong.app", "huitong.app", "the portal reads only through"),
    ("resolvers.lists", "from portal import pages", "portal.pages",
     "only huitong imports the portal"),
]


@pytest.mark.parametrize(("module", "source", "imported", "rule"), BROKEN,
                         ids=[f"{m}:{i}" for m, _, i, _ in BROKEN])
def test_a_broken_arrow_is_named(module: str, source: str, imported: str, rule: str) -> None:
    [found] = violations(module, source, is_package=module in ("publishing",))
    message = str(found)
    assert found.imported == imported
    assert message.startswith(f"{module} (line ") and f"imports {imported}: " in message
    assert rule in message


ALLOWED = [
    ("huitong.app", "from portal import pages\nfrom schema.build import build_schemas"),
    ("huitong.commands.check", "from connectors.registry import build_connectors\n"
                               "from ..hub import open_store"),
    ("schema.build", "from resolvers.lists import list_page\nfrom auth.model import catalog"),
    ("resolvers.audit_trail", "import strawberry\nfrom graphql import GraphQLError\n"
                              "from supervision import alerts\nfrom publishing import feed"),
    ("supervision.scanner", "from connectors.gateway import Gateway\n"
                            "from auth.identity.principal import system_principal"),
    ("publishing.exports", "from connectors.gateway import Gateway\nimport sqlalchemy"),
    ("connectors.gateway", "from auth.audit.access_log import AccessLog\nfrom .rows import Row"),
    ("connectors.sql", "from . import compile\nfrom .connector import SqlConnector",),
    ("auth.audit.trail_scope", "from auth.access.policy import Policy\n"
                               "from auth.identity.principal import Principal\n"
                               "from auth.model.regions import SEGMENT_ENDS\nimport sqlalchemy"),
    ("auth.access.policy", "from .purpose import purpose_rules\nfrom ..model import catalog"),
    ("auth.model.catalog", "from .entities import finance\nfrom .specs import Kind"),
    ("portal.pages", "from auth.model.regions import level_name\nimport httpx\n"
                     "from starlette.responses import HTMLResponse"),
]


@pytest.mark.parametrize(("module", "source"), ALLOWED, ids=[m for m, *_ in ALLOWED])
def test_imports_along_the_arrows_pass(module: str, source: str) -> None:
    assert violations(module, source, is_package=module == "connectors.sql") == []
