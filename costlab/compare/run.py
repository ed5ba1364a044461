"""``costlab.reconcile``: run each counter on a copy of the model and reconcile its number with costlab's.

The model is built for real once (random weights: counters run real forwards on CPU) and profiled
by costlab on CPU with real tensors, so that costlab's op records are those of the very execution
the counters see; every counter then gets its own copy, in eval mode, and the same seeded inputs. A
user's own ``nn.Module`` is never run by a counter (thop leaves buffers behind, ptflops attributes);
the global RNG, grad mode and ``torch.nn.functional`` are as they were afterwards. A counter that is
not installed is listed as such; one that raises (fvcore's JIT trace on a model that returns a
dict) is listed as failed with its one-line reason, and the others still run.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import importlib.util
import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# importing a counter's rules registers it (SHOWN_ORDER, not the import order, orders them)
from costlab.compare import (
    fvcore_rules,  # noqa: F401
    ptflops_rules,  # noqa: F401
    thop_rules,  # noqa: F401
    torch_rules,  # noqa: F401
    torchinfo_rules,  # noqa: F401
)
from costlab.compare.engine import FAILED, MISSING, OK, CounterResult, Seen, reconcile
from costlab.compare.registry import COUNTERS, CounterSpec
from costlab.errors import CostlabError, ForwardError, first_line
from costlab.progress import Progress, notify

__all__ = ["SEED", "Comparison", "UnknownCounterError", "known_counters", "reconcile_counters"]

SEED = 0
"""The seed of the random inputs every counter runs on."""


class UnknownCounterError(CostlabError):
    """``--with`` named a counter costlab does not know."""


@dataclass(frozen=True)
class Comparison:
    """costlab's MACs and FLOPs for one model and input, and each counter's number reconciled with them."""

    model: str
    input_shapes: list[tuple[int, ...]]
    macs: int
    flops: int
    counters: tuple[CounterResult, ...]
    depth: int = 1
    unsupported_ops: dict[str, int] = field(default_factory=dict)
    """Ops costlab itself has no formula for (counted as zero): a counter that counts them is unexplained there."""
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``costlab[basis] + Σ differences.amount + unexplained == total`` per counter."""
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "costlab": {"macs": self.macs, "flops": self.flops},
            "counters": [c.to_dict() for c in self.counters],
        }


SHOWN_ORDER = ("fvcore", "torch", "thop", "ptflops", "torchinfo")
"""The order counters are listed and run in: the most used first; a counter not named here comes last."""


def known_counters() -> tuple[str, ...]:
    """Every registered counter's name, in :data:`SHOWN_ORDER`."""
    rank = {name: i for i, name in enumerate(SHOWN_ORDER)}
    return tuple(sorted(COUNTERS, key=lambda name: (rank.get(name, len(rank)), name)))


def chosen(names: Sequence[str] | str | None) -> list[CounterSpec]:
    """The counters named (``"fvcore,torch"`` or a list; None: all), each once, in the order given."""
    if names is None:
        return [COUNTERS[n] for n in known_counters()]
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else [n.strip() for n in names]
    items = [n for n in dict.fromkeys(items) if n]
    unknown = [n for n in items if n not in COUNTERS]
    if unknown or not items:
        listed = ", ".join(known_counters())
        raise UnknownCounterError(f"--with {','.join(unknown) or '(nothing)'}: no such counter (known: {listed})")
    return [COUNTERS[n] for n in items]


def reconcile_counters(
    model: Any,
    input_shape: Any = None,
    *,
    counters: Sequence[str] | str | None = None,
    depth: int = 1,
    progress: Progress | None = None,
) -> Comparison:
    """Run ``counters`` (default: all five) on copies of ``model`` and reconcile each with costlab.

    ``model`` is an ``nn.Module`` or a spec (zoo name, ``file.py[:NAME]``, ``torchvision:NAME``);
    ``input_shape`` as for :func:`costlab.profile`. ``depth`` chooses the modules listed per counter.
    """
    import torch

    from costlab.cost.profile import profile
    from costlab.load import as_source, example_inputs_for

    specs_wanted = chosen(counters)
    source = as_source(model)
    example = example_inputs_for(source, input_shape)
    if example.kwargs:
        raise CostlabError(f"{source.label} takes keyword inputs; the counters compare takes call a model positionally")
    with torch.random.fork_rng(devices=[]), _restored_torch_state():
        # counting needs no speed, and on a busy machine a thread pool costs small inputs more than it gives
        torch.set_num_threads(1)
        notify(progress, 0.0, f"building {source.label}")
        base = _build(source) if source.origin != "object" else model
        notify(progress, 0.05, f"counting {source.label} with costlab")
        # costlab counts the same CPU execution the counters run (on the meta device scaled_dot_product_attention
        # takes its math path, on CPU a fused kernel), on the same inputs: profile's own, from the same seed
        torch.manual_seed(SEED)
        report = profile(base, inputs=example, real=True)
        seen = Seen(report, dict(base.named_modules()))
        inputs = list(example.make()[0])  # the same seeded values profile ran on
        results = []
        for i, spec in enumerate(specs_wanted):
            notify(progress, 0.1 + 0.9 * i / len(specs_wanted), f"running {spec.name}")
            results.append(_one(spec, base, inputs, seen, depth))
        notify(progress, 1.0, None)
    return Comparison(source.label, list(example.shapes), report.totals.macs, report.totals.flops,
                      tuple(results), depth, dict(report.unsupported_ops), tuple(report.notes))


def _build(source: Any) -> Any:
    try:
        return source.build(False)
    except CostlabError:
        raise
    except Exception as err:  # noqa: BLE001 - building user code may raise anything
        raise ForwardError(f"building {source.label} failed: {first_line(err)}") from None


def _version(spec: CounterSpec) -> str | None:
    try:
        return importlib.metadata.version(spec.distribution or spec.package)
    except importlib.metadata.PackageNotFoundError:
        module = importlib.import_module(spec.package)
        return str(getattr(module, "__version__", "")) or None


def _one(spec: CounterSpec, base: Any, inputs: list[Any], seen: Seen, depth: int) -> CounterResult:
    header = {"name": spec.name, "title": spec.title, "unit": spec.unit, "basis": spec.basis, "notes": spec.notes}
    if importlib.util.find_spec(spec.package) is None:
        return CounterResult(**header, status=MISSING, version=None, reason=f"pip install {spec.package}")
    try:
        version = _version(spec)
        if any(p.is_meta for p in base.parameters()):
            raise ValueError("the model is on the meta device; counters need real weights")
        with _quiet():
            measured = spec.run(_copy(base), [t.clone() for t in inputs])
    except Exception as err:  # noqa: BLE001 - a counter may fail on a model in any way; the others still run
        reason = first_line(err)
        if err.__cause__ is not None:  # torchinfo wraps the model's error in its own
            reason = f"{reason} ({first_line(err.__cause__)})"
        if len(reason) > 200:  # a message quoting a tensor's values
            reason = reason[:199] + "…"
        return CounterResult(**header, status=FAILED, version=_safe_version(spec), reason=reason)
    terms = spec.predict(seen)
    differences, skipped, unexplained, rows = reconcile(seen, spec.basis, terms, measured, spec.skip_why, depth)
    return CounterResult(**header, status=OK, version=version, total=measured.total, differences=differences,
                         skipped_ops=skipped, unexplained=unexplained, modules=rows)


def _copy(base: Any) -> Any:
    """A counter's own model: new module objects (for the buffers, attributes and hooks counters leave),
    in eval mode. On CPU they share the weights, which no counter writes (all run in eval under no_grad);
    elsewhere the copy is moved to CPU, which must not move the original's parameters, so it copies them."""
    tensors = [*base.parameters(), *base.buffers()]
    if all(t.device.type == "cpu" for t in tensors):
        shared = {id(t): t for t in tensors}
        return copy.deepcopy(base, memo=shared).eval()
    return copy.deepcopy(base).to("cpu").eval()


def _safe_version(spec: CounterSpec) -> str | None:
    try:
        return _version(spec)
    except Exception:  # noqa: BLE001 - a package that does not import has no version to show
        return None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Counters print (ptflops, thop), warn (torch.jit's tracer) and log (fvcore): keep stdout for costlab."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def _restored_torch_state() -> Iterator[None]:
    """Grad mode, the thread count and the functions ptflops patches, as they were (even when one crashes)."""
    import torch
    import torch.nn.functional as F

    grad, threads = torch.is_grad_enabled(), torch.get_num_threads()
    functional = dict(vars(F))
    tensor_ops = {name: getattr(torch, name) for name in ("matmul", "mm", "bmm", "addmm", "baddbmm", "mul", "add")}
    methods = {name: getattr(torch.Tensor, name) for name in ("matmul", "mm", "bmm", "addmm", "mul", "add")}
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        for name, value in functional.items():
            if vars(F).get(name) is not value:
                setattr(F, name, value)
        for name, value in tensor_ops.items():
            if getattr(torch, name) is not value:
                setattr(torch, name, value)
        for name, value in methods.items():
            if getattr(torch.Tensor, name) is not value:
                setattr(torch.Tensor, name, value)
