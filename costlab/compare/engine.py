"""The reconciliation: costlab's count plus each way a counter counts differently is the counter's number.

Arithmetic only, over costlab's own records. A counter's conventions (one module per counter) turn
a :class:`Seen` — costlab's :class:`~costlab.cost.report.Report` of the model and the model's
modules — into :class:`Term` s: what the counter counts for one op or one module call, and which of
costlab's ops that replaces. An op no term covers is one the counter skips. Grouping the terms by
what they are gives the :class:`Difference` s; what the counter really printed, minus costlab's
count and every difference, is ``unexplained`` — shown, never hidden::

    costlab[basis] + Σ differences.amount + unexplained == the counter's total

The same sum holds per module wherever the counter reports per module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from costlab.cost.categories import Category

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.capture import OpRecord
    from costlab.cost.report import Report
    from costlab.cost.tracker import ModuleCall

__all__ = ["CounterResult", "Difference", "Measured", "ModuleRow", "Seen", "Term", "reconcile", "skip_label"]

OK, FAILED, MISSING = "ok", "failed", "not installed"


@dataclass
class Seen:
    """What the conventions read: costlab's report of the model and the modules it ran (by call name)."""

    report: Report
    modules: dict[str, nn.Module]

    def module(self, call: ModuleCall) -> nn.Module | None:
        """The module object of a call (None for a module built on the fly inside ``forward``)."""
        return self.modules.get(call.name) if "<" not in call.name else None

    @cached_property
    def ops_by_call(self) -> dict[int, list[int]]:
        """Op indices per module call, the call's own ops only."""
        found: dict[int, list[int]] = {}
        for op in self.report.ops:
            found.setdefault(op.call, []).append(op.index)
        return found

    @cached_property
    def children(self) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        for call in self.report.calls:
            if call.parent is not None:
                found.setdefault(call.parent, []).append(call.index)
        return found

    def ops_within(self, call: int) -> list[int]:
        """Op indices of a call and every call inside it."""
        ops, stack = [], [call]
        while stack:
            index = stack.pop()
            ops.extend(self.ops_by_call.get(index, ()))
            stack.extend(self.children.get(index, ()))
        return sorted(ops)

    def ancestors(self, call: int) -> list[int]:
        """The call and every call around it, innermost first."""
        chain: list[int] = []
        index: int | None = call
        while index is not None:
            chain.append(index)
            index = self.report.calls[index].parent
        return chain


@dataclass(frozen=True, slots=True)
class Term:
    """What a counter counts for one thing costlab also saw: an op, a module call, a functional call.

    ``covers`` are costlab's ops whose count (in the basis) the term replaces; ``counted`` is the
    counter's number for them. ``what`` names the difference when the two disagree (``None`` when
    the counter and costlab agree by construction). ``in_modules=False``: the counter adds it to
    its total but to no module (ptflops' patched functionals).
    """

    what: str | None
    why: str
    seen: str
    counted: int
    call: int
    covers: tuple[int, ...] = ()
    in_modules: bool = True


@dataclass(frozen=True, slots=True)
class Measured:
    """What the counter itself printed: its total and, when it reports them, its per-module numbers
    (inclusive of submodules, by costlab's qualified names: ``""`` is the model)."""

    total: int
    modules: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the counter counts differently from costlab, with the ops it concerns (by calls)."""

    what: str
    ops: dict[str, int]
    amount: int
    why: str


@dataclass(frozen=True, slots=True)
class ModuleRow:
    """One module: the counter's number, costlab's, the differences there, and what is left."""

    name: str
    total: int
    costlab: int
    differences: int
    unexplained: int


@dataclass(frozen=True)
class CounterResult:
    """One counter's number and its reconciliation with costlab's (``status`` ok), or why there is none."""

    name: str
    title: str
    status: str
    version: str | None
    unit: str
    basis: str
    total: int | None = None
    differences: tuple[Difference, ...] = ()
    skipped_ops: dict[str, int] = field(default_factory=dict)
    unexplained: int | None = None
    modules: tuple[ModuleRow, ...] = ()
    reason: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "version": self.version,
            "total": self.total,
            "unit": self.unit,
            "basis": self.basis,
            "differences": [
                {"what": d.what, "ops": dict(d.ops), "amount": d.amount, "why": d.why} for d in self.differences
            ],
            "skipped_ops": dict(self.skipped_ops),
            "unexplained": self.unexplained,
            "modules": [
                {"name": m.name, "total": m.total, "costlab": m.costlab, "differences": m.differences,
                 "unexplained": m.unexplained}
                for m in self.modules
            ],
            "reason": self.reason,
            "notes": list(self.notes),
        }


_SKIPPED = {
    Category.CONV: "convolutions",
    Category.DEPTHWISE_CONV: "depthwise convolutions",
    Category.MATMUL: "matrix products",
    Category.ELEMENTWISE: "element-wise ops",
    Category.NORMALIZATION: "normalization",
    Category.REDUCTION: "pooling and reductions",
    Category.RESAMPLE: "resampling",
    Category.DATA_MOVEMENT: "copies",
    Category.CREATION: "tensor creation",
}


def skip_label(op: OpRecord) -> str:
    """How a skipped op is grouped: ``skips batch norm``, ``skips element-wise ops``, ``skips attention``."""
    if "batch_norm" in op.op:
        return "skips batch norm"
    if "attention" in op.op:
        return "skips attention"
    return f"skips {_SKIPPED.get(op.cost.category, op.cost.category + ' ops')}"


SkipWhy = Callable[["OpRecord"], str]


def reconcile(
    seen: Seen,
    basis: str,
    terms: Sequence[Term],
    measured: Measured,
    skip_why: SkipWhy,
    depth: int = 1,
) -> tuple[tuple[Difference, ...], dict[str, int], int, tuple[ModuleRow, ...]]:
    """Differences, skipped ops, unexplained and module rows (at ``depth``) for one counter's terms."""
    ops = seen.report.ops
    counts = [_basis(op, basis) for op in ops]
    covered: dict[int, Term] = {}
    for term in terms:
        for index in term.covers:
            if index in covered:
                raise AssertionError(f"{ops[index].op} #{index} is covered twice ({covered[index].seen}, {term.seen})")
            covered[index] = term
    every = list(terms)
    for op in ops:
        if op.index not in covered and counts[op.index]:
            every.append(Term(skip_label(op), skip_why(op), op.op, 0, op.call, (op.index,)))

    skipped: Counter[str] = Counter()
    for op in ops:
        term = covered.get(op.index)
        if (term is None or term.counted == 0) and (op.cost.flops or op.cost.macs):
            skipped[op.op] += 1

    groups: dict[tuple[str, str], list[tuple[Term, int]]] = {}
    for term in every:
        costlab = sum(counts[i] for i in term.covers)
        if term.what is None or term.counted == costlab:
            continue
        groups.setdefault((term.what, term.why), []).append((term, term.counted - costlab))
    differences = tuple(
        Difference(what, dict(Counter(t.seen for t, _ in members)), sum(a for _, a in members), why)
        for (what, why), members in groups.items()
    )
    predicted = sum(counts) + sum(d.amount for d in differences)
    unexplained = measured.total - predicted
    rows = _module_rows(seen, counts, every, measured.modules, depth) if measured.modules is not None else ()
    return differences, dict(sorted(skipped.items())), unexplained, rows


def _basis(op: OpRecord, basis: str) -> int:
    return int(op.cost.macs if basis == "macs" else op.cost.flops)


def _module_rows(
    seen: Seen, counts: list[int], terms: list[Term], measured: dict[str, int], depth: int
) -> tuple[ModuleRow, ...]:
    """Per module name at ``depth`` (inclusive of its submodules): counter, costlab, differences, unexplained."""
    calls = seen.report.calls
    costlab: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    for op in seen.report.ops:
        for index in seen.ancestors(op.call):
            costlab[calls[index].name] += counts[op.index]
    for term in terms:
        if term.in_modules:
            for index in seen.ancestors(term.call):
                predicted[calls[index].name] += term.counted
    names = list(dict.fromkeys(call.name for call in calls if call.depth == depth))
    return tuple(
        ModuleRow(name, measured.get(name, 0), costlab[name], predicted[name] - costlab[name],
                  measured.get(name, 0) - predicted[name])
        for name in names
    )
