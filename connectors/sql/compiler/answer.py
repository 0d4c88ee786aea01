"""Read a tree statement's JSON answer back into canonical rows (`NodeRows`)."""

from __future__ import annotations

from typing import Any

import orjson

from connectors.tree import NodeRows, child_key

from .statement import NodePlan


def read_answer(text: str, plans: tuple[NodePlan, ...]) -> list[NodeRows]:
    parsed = orjson.loads(text)
    return [_node(plan, value) for plan, value in zip(plans, parsed, strict=True)]


def _node(plan: NodePlan, value: list[Any]) -> NodeRows:
    raw_rows, count = value
    names = [name for name, _ in plan.columns]
    converters = [convert for _, convert in plan.columns]
    width = len(names)
    children = plan.children
    rows = []
    for raw in raw_rows:
        row = {name: convert(v) for name, convert, v in zip(names, converters, raw, strict=False)}
        for j, child in enumerate(children):
            row[child_key(j)] = _node(child, raw[width + j])
        rows.append(row)
    return NodeRows(rows, count)
