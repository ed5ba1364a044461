"""The one progress type: long work reports ``progress(fraction, what)`` and never prints itself.

``fraction`` goes from 0 to 1; ``what`` (optional) says what is happening now ("timing
mobilenet_v2"). The command line turns it into a progress bar on stderr; the Python API passes
``None`` (nothing is reported). :func:`part` maps a step's own 0..1 into its share of a larger task.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "notify", "part"]


class Progress(Protocol):
    def __call__(self, fraction: float, what: str | None = None, /) -> None: ...


def notify(progress: Progress | None, fraction: float, what: str | None = None) -> None:
    """Call ``progress`` when there is one."""
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)), what)


def part(progress: Progress | None, start: float, end: float, what: str | None = None) -> Progress | None:
    """A Progress for one step that covers ``start``..``end`` of ``progress`` (None stays None)."""
    if progress is None:
        return None

    def step(fraction: float, detail: str | None = None, /) -> None:
        notify(progress, start + (end - start) * min(1.0, max(0.0, fraction)), detail or what)

    return step
