"""Small-group suppression for aggregates, primary and secondary.

Primary: a group of fewer than k rows is not shown. Secondary: a caller can also ask the
same summary more coarsely (one dimension fewer, a region one level up, an economic class
instead of its codes) and subtract the groups it was shown; what remains is the sum of the
suppressed groups. So within every coarser cell, the suppressed groups must together hold
none or at least k rows; where they hold fewer, the smallest shown groups of that cell are
suppressed too, until the rule holds everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from auth.model.query import Dimension, Transform
from auth.model.regions import SEGMENT_ENDS

Group = dict[str, Any]
Coarsening = Callable[[Group], tuple[Any, ...]]

ECONOMIC_CLASS = 3


def _without(keys: list[str], dropped: str) -> Coarsening:
    kept = [k for k in keys if k != dropped]
    return lambda group: tuple(group[k] for k in kept)


def _shortened(keys: list[str], key: str, length: int) -> Coarsening:
    def coarsen(group: Group) -> tuple[Any, ...]:
        return tuple(str(group[k])[:length] if k == key and group[k] is not None else group[k]
                     for k in keys)

    return coarsen


def _coarsenings(dims: Sequence[Dimension]) -> list[Coarsening]:
    """Every coarser grouping a caller could ask for instead of `dims`."""
    keys = [d.key for d in dims]
    result: list[Coarsening] = []
    for dim in dims:
        result.append(_without(keys, dim.key))
        shorter: list[int] = []
        if dim.field == "regionCode" and dim.transform is Transform.PREFIX:
            shorter = [n for n in SEGMENT_ENDS if n < (dim.length or 0)]
        elif dim.field == "economicCode" and dim.transform is Transform.VALUE:
            shorter = [ECONOMIC_CLASS]
        result.extend(_shortened(keys, dim.key, n) for n in shorter)
    return result


def suppress(
    groups: list[Group], dims: Sequence[Dimension], k: int,
    also_hidden: Callable[[Group], bool] | None = None,
) -> list[Group]:
    """The groups that may be shown: each of at least k rows, none that `also_hidden`
    names, and no coarser cell whose hidden groups hold between 1 and k-1 rows while the
    cell itself holds k or more (a smaller cell is suppressed when asked for itself).
    Groups keep their order."""
    if k <= 1:
        return groups
    hidden = {i for i, g in enumerate(groups)
              if g["count"] < k or (also_hidden is not None and also_hidden(g))}
    coarsenings = _coarsenings(dims)
    changed = True
    while changed:
        changed = False
        for coarsen in coarsenings:
            cells: dict[tuple[Any, ...], list[int]] = defaultdict(list)
            for i, g in enumerate(groups):
                cells[coarsen(g)].append(i)
            for members in cells.values():
                hidden_rows = sum(groups[i]["count"] for i in members if i in hidden)
                shown = sorted((i for i in members if i not in hidden),
                               key=lambda i: groups[i]["count"])
                while 0 < hidden_rows < k and shown:
                    smallest = shown.pop(0)
                    hidden.add(smallest)
                    hidden_rows += groups[smallest]["count"]
                    changed = True
    return [g for i, g in enumerate(groups) if i not in hidden]
