"""``costlab memory``: peak memory (bytes held, not moved) of inference or a training step, who
holds it, and the largest batch that fits a device."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DepthOpt, DtypeOpt, InputOpt, ModelArg, OutputOpt

MEMORY_FORMATS = ("table", "json", "csv", "md")
MemoryFormat = common.formats("MemoryFormat", *MEMORY_FORMATS)


@app.command()
def memory(
    model: ModelArg,
    input: InputOpt = None,
    train: Annotated[
        bool, typer.Option("--train", help="A training step: forward with autograd, backward of the summed outputs.")
    ] = False,
    optimizer: Annotated[
        Optional[str],
        typer.Option("--optimizer", help="With --train, also the optimizer's state and step: sgd (momentum), adam, adamw."),
    ] = None,
    dtype: DtypeOpt = None,
    fit: Annotated[
        Optional[str],
        typer.Option("--fit", metavar="BYTES", help="Also find the largest batch (first input dimension) whose peak fits, e.g. 12GB."),
    ] = None,
    device: Annotated[
        str,
        typer.Option("--device", help="Estimate for cuda (512-byte blocks, fused attention, foreach optimizers) or cpu."),
    ] = "cuda",
    format: Annotated[
        Optional[MemoryFormat],
        typer.Option("--format", "-f", help="Output format (default: table, or the one -o's suffix names)."),
    ] = None,
    output: OutputOpt = None,
    depth: DepthOpt = None,
    sort: Annotated[
        str,
        typer.Option("--sort", "-s", help="Sort rows by order, activation_bytes, saved_bytes or held_at_peak_bytes."),
    ] = "order",
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=1, help="Show only the first N rows.")] = None,
    real: Annotated[bool, typer.Option("--real", help="Run with real tensors on CPU instead of the meta device.")] = False,
) -> None:
    """Peak memory of inference or a training step, without running the model.

    Follows every tensor storage on the meta device from the op that makes it to the moment its
    last reference dies: the peak (parameters, buffers and inputs included, as
    torch.cuda.max_memory_allocated counts them), when it happens, what it is made of and which
    layers hold it. With --fit, the largest batch whose peak fits.
    """
    with common.user_errors():
        from costlab.cost.memory_report import DEVICES, OPTIMIZERS

        if optimizer is not None:
            optimizer = common.choose(optimizer, OPTIMIZERS, "--optimizer")
            if not train:
                raise common.UsageError(f"--optimizer {optimizer} steps after a backward: add --train")
        device = common.choose(device, DEVICES, "--device")
        if fit is not None:
            from costlab.units import parse_quantity

            parse_quantity(fit, "bytes")  # a bad unit is one line before any model is built
        from costlab.cost.memory import memory as run_memory
        from costlab.render import memory as render

        sort_field = common.choose(sort, render.SORT_FIELDS, "--sort")
        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, MEMORY_FORMATS)
        with common.progress_bar(f"estimating the memory of {model}") as progress:
            report = run_memory(
                model, input, train=train, optimizer=optimizer, dtype=dtype, device=device, fit=fit, real=real,
                progress=progress,
            )
        common.note(report.notes)
        every_row = report.layers(depth)
        rows = render.select_rows(every_row, sort_field, top)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.memory_table(report, rows, width=width, shown_of=len(every_row)),
                "json": lambda width: render.memory_json(report, depth, rows),
                "csv": lambda width: render.memory_csv(rows),
                "md": lambda width: render.memory_markdown(report, rows),
            },
            protected,
        )
