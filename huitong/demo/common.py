"""What the demo's stages share: the region tree, code tables, the calendar and the row type.

Each stage is a plain generator of `(table, row)` pairs; the writer in `generate` batches them
into executemany chunks. Stages draw from their own `random.Random` (seeded with the run's
seed and the stage name), so one stage's changes do not reshuffle the others' data.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import itertools
import math
import random
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from .people import IdIssuer
from .regions import RegionNode, build_tree, units

MAPPINGS_DIR: Final = Path(__file__).resolve().parent / "mappings"
MAPPING_FILES: Final = {
    "finance": MAPPINGS_DIR / "finance.toml",
    "civil_affairs": MAPPINGS_DIR / "civil_affairs.toml",
    "inspection": MAPPINGS_DIR / "inspection.toml",
}

Row = dict[str, Any]
Emitted = Iterator[tuple[sa.Table, Row]]

YEARS: Final = (2023, 2024)
# The day the demo data was "extracted": statuses (pending, overdue, draft) are as of this day.
SNAPSHOT: Final = dt.datetime(2025, 1, 15, 9, 0)
# Relative spending per calendar month: quiet around the Spring Festival, a year-end rush.
_MONTH_WEIGHTS: Final = (0.8, 0.6, 1.0, 1.0, 1.0, 1.1, 1.0, 0.9, 1.0, 0.9, 1.0, 1.7)


@cache
def mapping_raw(source: str) -> dict[str, Any]:
    with MAPPING_FILES[source].open("rb") as fh:
        return tomllib.load(fh)


def code_table(source: str, entity: str, field_name: str) -> dict[Any, Any]:
    """Canonical value → the source's code, as the source's mapping file declares it.

    The generator encodes with the same tables the connector decodes with, so the two
    cannot drift apart.
    """
    spec = mapping_raw(source)["entities"][entity]["fields"][field_name]
    values = dict(spec["values"])
    if set(values) <= {"true", "false"}:
        return {key == "true": code for key, code in values.items()}
    return values


@dataclass
class Context:
    seed: int
    scale: int
    tree: list[RegionNode] = field(default_factory=build_tree)
    ids: IdIssuer = field(default_factory=IdIssuer)

    def __post_init__(self) -> None:
        self.by_code = {n.code: n for n in self.tree}
        self.units = units(self.tree)
        self.communities = [u for u in self.units if u.level == "VILLAGE"]

    def rng(self, stage: str) -> random.Random:
        return random.Random(f"{self.seed}:{stage}")


def pick(rng: random.Random, i: int, choices: Sequence[RegionNode]) -> RegionNode:
    """Round-robin for the first rows, so that every unit owns some of every entity; random
    afterwards."""
    return choices[i] if i < len(choices) else rng.choice(choices)


def choose(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Timeline:
    """Maps a fraction of the demo period (0..1) to a working-day instant, weighted by month."""

    def __init__(self) -> None:
        self.months = [(y, m) for y in YEARS for m in range(1, 13)]
        weights = [_MONTH_WEIGHTS[m - 1] for _, m in self.months]
        self._cum = list(itertools.accumulate(weights))

    def at(self, rng: random.Random, fraction: float) -> dt.datetime:
        total = self._cum[-1]
        target = min(max(fraction, 0.0), 0.999999) * total
        idx = bisect.bisect_right(self._cum, target)
        start = self._cum[idx - 1] if idx else 0.0
        within = (target - start) / (self._cum[idx] - start)
        year, month = self.months[idx]
        day = 1 + int(within * calendar.monthrange(year, month)[1])
        return office_time(rng, workday(dt.date(year, month, day)))


def workday(day: dt.date) -> dt.date:
    """Saturday → Friday before, Sunday → Monday after (public holidays are ignored)."""
    wd = day.weekday()
    if wd == 5:
        return day - dt.timedelta(days=1)
    if wd == 6:
        return day + dt.timedelta(days=1)
    return day


def office_time(rng: random.Random, day: dt.date) -> dt.datetime:
    minute = rng.randrange(8 * 60 + 30, 17 * 60 + 30)
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                       rng.randrange(60))


def shift(rng: random.Random, when: dt.datetime, min_days: float, max_days: float) -> dt.datetime:
    """A working-hours instant `min_days`..`max_days` from `when` (negative: before)."""
    day = (when + dt.timedelta(days=rng.uniform(min_days, max_days))).date()
    return office_time(rng, workday(day))


def fen(rng: random.Random, low_yuan: float, high_yuan: float, round_to: int = 1) -> int:
    """A log-uniform amount in integer fen; `round_to` rounds to that many fen."""
    value = math.exp(rng.uniform(math.log(low_yuan), math.log(high_yuan))) * 100
    return max(round_to, int(value / round_to) * round_to)


def yuan(amount_fen: int) -> str:
    """Fen as a display amount for notice texts: 12,345.60."""
    return f"{amount_fen // 100:,}.{amount_fen % 100:02d}"


def quarter(when: dt.date | dt.datetime) -> tuple[int, int]:
    return when.year, (when.month - 1) // 3 + 1
