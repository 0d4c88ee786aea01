"""What a document costs once its fragments are expanded, computed without expanding them.

A fragment that spreads another twice doubles the work of anything that walks the document
spread by spread (strawberry's depth and alias limiters, graphql-core's
OverlappingFieldsCanBeMerged): 22 such fragments in 900 bytes cost minutes. Here each
fragment's figures are computed once and reused wherever it is spread, so the pass is linear in
the document's size however large its expansion; the numbers themselves are exact integers.

Per selection set (an operation's, a fragment's, a field's) it knows:

- `depth`: nesting below the root fields, as strawberry counts it (`{ region { parent { code }
  } }` is 2; introspection fields `__…` count 0 and are not descended into);
- `fields`: field selections once every spread is expanded (introspection included);
- `aliases`: aliased field selections once expanded;
- `overlap`: an estimate of what OverlappingFieldsCanBeMerged would spend on it: per response
  name collected at one level (spreads and inline fragments included), copies² (weighted by
  the size of the largest sub-selection), summed over the document. `MAX_OVERLAP` is about
  0.2 s of that rule's time on this class of machine.

`DocumentCost.of(document)` gives the figures of every operation and fragment definition;
`refusal(limits)` the first limit a definition is over, as a message (None: within limits).
A fragment cycle (which validation reports) costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

SUBSELECTION_WEIGHT = 50
MAX_OVERLAP = 100_000


@dataclass(frozen=True)
class CostLimits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_overlap: int = MAX_OVERLAP


@dataclass
class Cost:
    depth: int = 0
    fields: int = 0
    aliases: int = 0
    overlap: int = 0
    # Response name → (copies collected at this level, largest sub-selection's field count).
    collected: dict[str, tuple[int, int]] = field(default_factory=dict)


def _merge(into: dict[str, tuple[int, int]], name: str, copies: int, size: int) -> None:
    had, largest = into.get(name, (0, 0))
    into[name] = (had + copies, max(largest, size))


class DocumentCost:
    """The expanded figures of one parsed document, fragment by fragment, computed once."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self._memo: dict[str, Cost] = {}
        self._open: set[str] = set()
        self.definitions: list[tuple[str, Cost]] = []
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = definition.name.value if definition.name else "anonymous"
                self.definitions.append((f"operation {name!r}",
                                         self._set(definition.selection_set)))
            elif isinstance(definition, FragmentDefinitionNode):
                self.definitions.append((f"fragment {definition.name.value!r}",
                                         self._fragment(definition.name.value)))

    @classmethod
    def of(cls, document: DocumentNode) -> DocumentCost:
        return cls(document)

    def _fragment(self, name: str) -> Cost:
        known = self._memo.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._open:
            return Cost()  # unknown fragment or a cycle: validation reports it
        self._open.add(name)
        cost = self._set(definition.selection_set)
        self._open.discard(name)
        self._memo[name] = cost
        return cost

    def _set(self, selection_set: SelectionSetNode) -> Cost:
        cost = Cost()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                sub = self._set(selection.selection_set) if selection.selection_set else Cost()
                introspection = selection.name.value.startswith("__")
                depth = 0 if introspection or selection.selection_set is None \
                    else 1 + sub.depth
                cost.depth = max(cost.depth, depth)
                cost.fields += 1 + sub.fields
                cost.aliases += (1 if selection.alias else 0) + sub.aliases
                cost.overlap += sub.overlap
                name = (selection.alias or selection.name).value
                _merge(cost.collected, name, 1, sub.fields)
                continue
            if isinstance(selection, FragmentSpreadNode):
                part = self._fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                part = self._set(selection.selection_set)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            cost.depth = max(cost.depth, part.depth)
            cost.fields += part.fields
            cost.aliases += part.aliases
            # The part's own nested overlap is counted once per spread, like its fields.
            cost.overlap += part.overlap - _level_overlap(part.collected)
            for name, (copies, size) in part.collected.items():
                _merge(cost.collected, name, copies, size)
        cost.overlap += _level_overlap(cost.collected)
        return cost

    def refusal(self, limits: CostLimits) -> str | None:
        for what, cost in self.definitions:
            # Depth and aliases are an operation's, as strawberry's limiters count them (a
            # fragment on __Type is deep, but only ever below an introspection field); any
            # definition's expansion costs validation, used or not.
            operation = what.startswith("operation")
            if operation and cost.depth > limits.max_depth:
                return f"{what} exceeds maximum operation depth of {limits.max_depth}"
            if operation and cost.aliases > limits.max_aliases:
                return (f"{what} has {cost.aliases} aliases once its fragments are expanded; "
                        f"at most {limits.max_aliases} are allowed")
            if cost.fields > limits.max_fields:
                return (f"{what} selects {cost.fields} fields once its fragments are expanded; "
                        f"at most {limits.max_fields} are allowed")
            if cost.overlap > limits.max_overlap:
                return (f"{what} repeats the same fields too often to be checked (merge "
                        "duplicate selections or use fewer copies of a fragment)")
        return None


def _level_overlap(collected: dict[str, tuple[int, int]]) -> int:
    # Comparing two copies of a leaf is cheap; two copies of a field with a sub-selection
    # compare their arguments and sub-selections too (measured: ~100× the time of a leaf).
    return sum(copies * copies * (1 if size == 0 else SUBSELECTION_WEIGHT * (1 + size))
               for copies, size in collected.values() if copies > 1)
