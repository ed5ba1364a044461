"""Timing on real devices: whole-model latency, per-layer time and its breakdown by kind of work,
and the device's peaks (the roofs of the roofline).

* :func:`measure_latency` → :class:`Measurement` (median, IQR, p10 / p90, throughput, warnings)
* :func:`measure_layers` → :class:`LayerTiming` (rows aligned with ``Report.layers(depth)``)
* :func:`machine_peaks` → :class:`MachinePeaks` (measured once, cached per device)

Attributes load on first use, so importing ``costlab.timing`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costlab._lazy import lazy_attributes

__all__ = [
    "CategoryTime",
    "DeviceError",
    "LayerTime",
    "LayerTiming",
    "MachinePeaks",
    "Measurement",
    "TimingSpec",
    "machine_peaks",
    "measure_latency",
    "measure_layers",
]

if TYPE_CHECKING:
    from costlab.timing.devices import DeviceError
    from costlab.timing.layers import CategoryTime, LayerTime, LayerTiming, measure_layers
    from costlab.timing.machine import MachinePeaks, machine_peaks
    from costlab.timing.measure import Measurement, TimingSpec, measure_latency

_LAZY = {
    "TimingSpec": "costlab.timing.measure",
    "Measurement": "costlab.timing.measure",
    "measure_latency": "costlab.timing.measure",
    "LayerTime": "costlab.timing.layers",
    "CategoryTime": "costlab.timing.layers",
    "LayerTiming": "costlab.timing.layers",
    "measure_layers": "costlab.timing.layers",
    "MachinePeaks": "costlab.timing.machine",
    "machine_peaks": "costlab.timing.machine",
    "DeviceError": "costlab.timing.devices",
}

__getattr__ = lazy_attributes(__name__, _LAZY)
