"""The gateway without GraphQL: background work (a named system principal) takes the same
road as a caller of that role — the same rows, the same masks, the same access log — and is
refused in the same ways, as domain errors. Over the demo sources on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from auth.access.purpose import PurposeRequired, purpose_rules
from auth.access.scope import AccessDenied, Scoper
from auth.audit import AccessLog
from auth.identity.principal import system_principal
from auth.model.query import AggregateQuery, Dimension, EntityQuery, OrderKey, Transform
from connectors.base import SourceUnavailable
from connectors.gateway import Gateway, Sources
from resolvers.ids import from_global_id
from tests.hub_harness import DemoHub

STREET = "330108001000"
FIELDS = ("id", "regionCode", "payeeName", "payeeIdNumber", "amount")


def _gateway(hub: DemoHub, role: str = "civil_affairs", **kwargs: Any) -> Gateway:
    core = hub.app.state.hub
    scanner = system_principal("risk-scanner", role=role, region_code=STREET)
    return Gateway.for_principal(core.policy, scanner, core.sources, **kwargs)


async def test_a_system_principal_reads_what_its_role_reads(demo_hub: DemoHub) -> None:
    log = AccessLog()
    gateway = _gateway(demo_hub, log=log)
    rows = await gateway.fetch(EntityQuery("Payment", FIELDS, order=(OrderKey("id"),),
                                           limit=40))
    seen = await demo_hub.data(
        "{ payments(first: 40) { totalCount nodes { id regionCode payeeName payeeIdNumber "
        "amount } } }", role="civil_affairs", region=STREET)
    nodes = seen["payments"]["nodes"]
    assert rows and len(rows) == len(nodes)
    for row, node in zip(rows, nodes, strict=True):
        assert from_global_id(node["id"]) == ("Payment", row["id"])
        assert (row["regionCode"], row["payeeName"], row["payeeIdNumber"], f"{row['amount']:.2f}"
                ) == (node["regionCode"], node["payeeName"], node["payeeIdNumber"],
                      node["amount"])
        assert row["regionCode"].startswith(STREET[:9]) and "*" in row["payeeName"]
    assert await gateway.count(EntityQuery("Payment", ("id",))) == \
        seen["payments"]["totalCount"]
    reads = log.entities["Payment"]
    assert reads.masked_fields == {"payeeName", "payeeIdNumber"}
    assert reads.ids == [r["id"] for r in rows] and reads.aggregates == 1


async def test_refusals_are_domain_errors(demo_hub: DemoHub) -> None:
    gateway = _gateway(demo_hub)
    with pytest.raises(AccessDenied):  # civil affairs reads no inspection cases
        await gateway.fetch(EntityQuery("InspectionCase", ("id",)))
    with pytest.raises(AccessDenied):  # nor payees' accounts
        await gateway.fetch(EntityQuery("Payment", ("id", "payeeAccount")))
    with pytest.raises(AccessDenied):
        Gateway.for_principal(demo_hub.app.state.hub.policy,
                              system_principal("exporter", role="no_such_role"),
                              demo_hub.app.state.hub.sources)
    rules = purpose_rules({"roles": {"civil_affairs": {}},
                           "purpose": {"civil_affairs": {"fields": ["Payment.amount"]}}})
    strict = _gateway(demo_hub)
    strict.purpose = rules
    with pytest.raises(PurposeRequired, match=r"Reading Payment\.amount requires a stated purpose"):
        await strict.fetch(EntityQuery("Payment", ("id", "amount")))
    nowhere = Gateway(Scoper(strict.scoper.role, strict.principal), Sources({}))
    with pytest.raises(SourceUnavailable):
        await nowhere.fetch(EntityQuery("Payment", ("id",)))


async def test_summaries_are_grouped_at_the_source(demo_hub: DemoHub) -> None:
    log = AccessLog()
    groups = await _gateway(demo_hub, log=log).aggregate(AggregateQuery(
        "Payment", "amount", (Dimension("method", "method", Transform.VALUE),)))
    seen = await demo_hub.data("{ spendingSummary(groupBy: [METHOD]) { method count "
                               "totalAmount } }", role="civil_affairs", region=STREET)
    assert [(g["method"], g["count"], f"{g['total']:.2f}") for g in groups] == [
        (s["method"], s["count"], s["totalAmount"]) for s in seen["spendingSummary"]]
    assert log.entities["Payment"].aggregates == 1
