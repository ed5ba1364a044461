"""What the benchmarks say about the machine they ran on: load, and how much CPU others used."""

from __future__ import annotations

import os
import resource
import time


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class OtherLoad:
    """CPU time the rest of the machine used while a section ran (Linux ``/proc/stat``; else None).

    Busy time of all CPUs (steal included) minus this process's and its children's CPU time, as a
    share of the wall time × CPUs: how far to trust the timings next to it.
    """

    def __init__(self) -> None:
        self.start = self._snapshot()

    @staticmethod
    def _snapshot() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as fh:
                fields = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = (sum(fields[:8]) - idle) / tick  # user nice system idle iowait irq softirq steal
        own = sum(
            getattr(resource.getrusage(who), f)
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            for f in ("ru_utime", "ru_stime")
        )
        return time.perf_counter(), busy, own

    def share(self) -> float | None:
        end = self._snapshot()
        if self.start is None or end is None:
            return None
        wall = end[0] - self.start[0]
        others = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return max(0.0, others) / (wall * (os.cpu_count() or 1)) if wall > 0 else None

    def line(self) -> str:
        share = self.share()
        if share is None:
            return ""
        warn = "  (a busy machine: expect noisy timings)" if share > 0.15 else ""
        return f"  other processes used {share:.0%} of the machine's CPU during this section{warn}"
