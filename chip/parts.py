"""The factory of a chip's parts: the circuit components (chip.components) and the layer
activity the hierarchy (SubArray -> PE -> Tile -> Chip) is built from.

The activity model is chosen here: ``activity="trace"`` (default) is the trace-accurate
`chip.activity.layer_activity`, through its exact shortcuts where they apply
(`chip.activity_exact`); ``activity="stats"`` is the statistical fast mode
(`chip.activity_stats`: per-layer input-bit and weight-bit statistics) for dense layers,
grouped/depthwise convolutions being priced from the trace in both modes. A sweep passes an
`ActivityMemo` so that points whose activity is the same (`activity_key`) share it.

It is the one place that knows the components' constructor arguments. Tests replace it with a
stand-in whose parts have round figures, so the composition can be checked by hand
(tests/test_hierarchy.py).
"""
from __future__ import annotations

import importlib

import numpy as np

from contracts.config import HardwareConfig
from contracts.trace import LayerTrace

__all__ = ["Parts", "PhysicsUnavailable", "default_parts", "ACTIVITY_MODELS", "ActivityMemo",
           "activity_key", "check_activity_model"]

#: the activity models of `Parts` (and of `chip.estimate(..., activity=...)`)
ACTIVITY_MODELS = ("trace", "stats")

#: config fields that never change a layer's activity (chip.activity reads none of them, nor
#: does the TechContext it uses); tests/test_activity_memo.py changes each and compares.
#: adc_bits changes only the mean ADC code, which the memo recomputes.
_NOT_IN_ACTIVITY = (
    "adc_type", "adc_bits", "cols_per_adc", "mapping", "pipeline", "speedup_degree",
    "global_interconnect", "global_buffer", "tile_buffer", "pe_buffer",
    "global_buffer_core_rows", "global_buffer_core_cols", "tile_buffer_core_rows",
    "tile_buffer_core_cols", "clock", "clock_freq_max_Hz", "activation_function",
    "input_toggle_rate", "output_toggle_rate", "global_bus_delay_tolerance",
    "local_bus_delay_tolerance", "max_global_bus_width", "calibration_factors",
    "write_pulse_width_s", "write_voltage_V", "digital_mac_units")

_REQUIRED = ("chip.technology", "chip.activity", "chip.components.subarray",
             "chip.components.adder_tree", "chip.components.buffer", "chip.components.bus",
             "chip.components.htree", "chip.components.xybus", "chip.components.max_pool",
             "chip.components.activation", "chip.components.nonlinear",
             "chip.components.digital_mac")


class PhysicsUnavailable(RuntimeError):
    """The circuit models (chip.technology / chip.components / chip.activity) are missing."""


def check_activity_model(activity: str) -> str:
    if activity not in ACTIVITY_MODELS:
        raise ValueError(f"activity={activity!r} must be one of {', '.join(ACTIVITY_MODELS)}")
    return activity


def activity_key(config: HardwareConfig, activity: str = "trace") -> str:
    """A hash of what a layer's activity depends on in ``config`` (and the model): equal keys
    give equal activities for the same layer and row groups."""
    import hashlib
    import json
    from contracts.effects import STEP1_ONLY
    kept = {k: v for k, v in config.to_dict().items()
            if k not in _NOT_IN_ACTIVITY and k not in STEP1_ONLY}
    text = json.dumps([activity, kept], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ActivityMemo:
    """Activities of layers already priced, for the next config with the same
    `activity_key` (a sweep's points). Holds at most ``size`` entries (oldest dropped); a
    layer is known by identity, and the memo keeps it alive while it holds its entry."""

    def __init__(self, size: int = 256):
        self.size = size
        self._entries: dict[tuple, tuple] = {}
        self.hits = self.misses = 0

    def get(self, layer, key: str, row_groups, compute):
        digest = _groups_digest(row_groups)
        slot = (id(layer), key, digest)
        found = self._entries.get(slot)
        if found is not None and found[0] is layer:
            self.hits += 1
            return found[1]
        self.misses += 1
        value = compute()
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[slot] = (layer, value)
        return value


def _groups_digest(row_groups) -> str:
    import hashlib
    h = hashlib.blake2b(digest_size=12)
    for gr in row_groups or ():
        a = np.ascontiguousarray(gr, dtype=np.int64)
        h.update(len(a).to_bytes(8, "little"))
        h.update(a.tobytes())
    return h.hexdigest()


class Parts:
    """Real circuit models for one config (docs/chip-internals.md); ``activity``: the
    activity model (ACTIVITY_MODELS), ``memo``: an ActivityMemo shared across configs."""

    def __init__(self, config: HardwareConfig, activity: str = "trace",
                 memo: ActivityMemo | None = None):
        self.activity_model = check_activity_model(activity)
        self.memo = memo
        missing = []
        for module in _REQUIRED:
            try:
                importlib.import_module(module)
            except ImportError as err:
                missing.append(f"{module} ({err})")
        if missing:
            raise PhysicsUnavailable("circuit models not available: " + "; ".join(missing))
        from chip.technology import TechContext
        try:
            self.ctx = TechContext(config)
        except ImportError as err:
            raise PhysicsUnavailable(str(err)) from None
        self.config = config
        self._subarray = None

    def subarray(self, rows: int, cols: int):
        """The chip's one sub-array design (built once)."""
        from chip.components.subarray import SubArray
        if self._subarray is None:
            self._subarray = SubArray(self.ctx, self.config, rows=rows, cols=cols)
        return self._subarray

    def activity(self, layer: LayerTrace, row_groups: list[np.ndarray]):
        """What the layer's inputs and weights do to the sub-arrays (the chosen model)."""
        if self.memo is None:
            return self._activity(layer, row_groups)
        key = activity_key(self.config, self.activity_model)
        found = self.memo.get(layer, key, row_groups, lambda: self._activity(layer, row_groups))
        if self.config.adc_bits != found.extra.get("adc_bits"):
            import dataclasses
            from chip.activity_exact import code_mean
            counts = found.column_conductance_count * found.images
            found = dataclasses.replace(found, adc_code_mean=code_mean(
                found.column_conductance_S, counts, self.config, self.ctx),
                extra={**found.extra, "adc_bits": self.config.adc_bits})
        return found

    def _activity(self, layer: LayerTrace, row_groups: list[np.ndarray]):
        # a grouped/depthwise layer has no statistical model yet: it is priced from its trace
        if self.activity_model == "stats" and layer.geometry.groups == 1:
            from chip.activity_stats import statistical_activity
            act = statistical_activity(layer, self.config, row_groups, ctx=self.ctx)
        else:
            from chip.activity_exact import exact_activity
            act = exact_activity(layer, self.config, row_groups, ctx=self.ctx)
            if act is None:
                from chip.activity import layer_activity
                act = layer_activity(layer, self.config, row_groups, ctx=self.ctx)
        act.extra["adc_bits"] = self.config.adc_bits
        return act

    def subarray_output_bits(self) -> int:
        sa = self.subarray(self.config.subarray_rows, self.config.subarray_cols)
        return int(sa.output_bits)

    def adder_tree(self, num_inputs: int, input_bits: int, lanes: int):
        from chip.components.adder_tree import AdderTree
        return AdderTree(self.ctx, self.config, num_inputs=max(1, num_inputs),
                         num_bits=max(1, input_bits), num_units=max(1, lanes))

    def buffer(self, level: str, capacity_bits: int, interface_bits: int,
               width_m: float | None = None, height_m: float | None = None):
        from chip.components.buffer import Buffer
        kind = {"global": self.config.global_buffer, "tile": self.config.tile_buffer,
                "pe": self.config.pe_buffer}[level]
        return Buffer(self.ctx, self.config, num_bits=max(1, int(capacity_bits)),
                      interface_width=max(1, int(interface_bits)), kind=kind,
                      width_m=width_m, height_m=height_m)

    def bus(self, level: str, rows: int, cols: int, unit_height_m: float, unit_width_m: float,
            bus_width: int, output_width: int | None = None):
        """The PE bus, the tile H-tree, or the chip's H-tree or X-Y bus."""
        c = self.config
        grid = dict(num_rows=max(1, rows), num_cols=max(1, cols), unit_height_m=unit_height_m,
                    unit_width_m=unit_width_m, bus_width=max(1, bus_width))
        if level == "pe":
            from chip.components.bus import Bus
            return Bus(self.ctx, c, output_width=output_width, **grid)
        if level == "tile" or c.global_interconnect == "htree":
            from chip.components.htree import HTree
            tol = c.local_bus_delay_tolerance if level == "tile" else c.global_bus_delay_tolerance
            return HTree(self.ctx, c, delay_tolerance=tol,
                         folded_ratio=16 if level == "tile" else 4, **grid)
        from chip.components.xybus import XYBus
        return XYBus(self.ctx, c, delay_tolerance=c.global_bus_delay_tolerance, **grid)

    def max_pool(self, bits: int, window: int, lanes: int):
        from chip.components.max_pool import MaxPool
        return MaxPool(self.ctx, self.config, num_bits=bits, window=window, num_units=lanes)

    def activation(self, bits: int, lanes: int):
        from chip.components.activation import Activation
        return Activation(self.ctx, self.config, num_bits=bits, num_units=lanes)

    def nonlinear(self, op: str, bits: int, lanes: int, length: int = 1):
        """The digital unit of a nonlinear function (chip.components.nonlinear): ``lanes``
        element-wise lanes, or ``lanes`` softmax units over vectors of ``length`` values."""
        from chip.components.nonlinear import LayerNorm, NonlinearUnit, Softmax
        if op == "softmax":
            return Softmax(self.ctx, self.config, num_bits=bits, length=length, num_units=lanes)
        if op == "layernorm":
            return LayerNorm(self.ctx, self.config, num_bits=bits, length=length,
                             num_units=lanes)
        return NonlinearUnit(self.ctx, self.config, op, num_bits=bits, num_units=lanes)

    def kv_buffer(self, capacity_bits: int, interface_bits: int):
        """The buffer holding a dynamic product's operand for the digital unit: SRAM cores
        (ours: tens of kB to MB per operand, where DFF register files would dwarf the lanes)."""
        from chip.components.buffer import Buffer
        return Buffer(self.ctx, self.config, num_bits=max(1, int(capacity_bits)),
                      interface_width=max(1, int(interface_bits)), kind="sram")

    def digital_mac(self, weight_bits: int, input_bits: int, acc_bits: int, lanes: int):
        """The MAC lanes of the dynamic products (dynamic_matmul_policy='digital')."""
        from chip.components.digital_mac import DigitalMAC
        return DigitalMAC(self.ctx, self.config, weight_bits=weight_bits,
                          input_bits=input_bits, acc_bits=acc_bits, num_units=lanes)

    def write_energy_per_cell_J(self) -> float:
        c = self.config
        if c.memory_cell == "sram":
            # ours: charge the cell's two internal nodes and its bit-line share, C V^2
            return 2 * self.ctx.gate_cap(self.ctx.w_min_m) * self.ctx.vdd_V ** 2 + \
                self.ctx.wire_cap_F_per_m * self.ctx.cell_height_m * self.ctx.vdd_V ** 2
        # ours: one write pulse through the mean cell conductance, V_w^2 G t
        g_mean = 0.5 * (1.0 / c.r_on_ohm + 1.0 / c.r_off_ohm)
        return c.write_voltage_V ** 2 * g_mean * c.write_pulse_width_s

    def write_time_per_row_s(self) -> float:
        c = self.config
        if c.memory_cell == "sram":
            sa = self.subarray(c.subarray_rows, c.subarray_cols)
            return max(sa.read_cycle_s, 1.0 / c.clock_freq_max_Hz)   # ours: one cycle per row
        return 2 * c.write_pulse_width_s        # ours: a SET and a RESET phase per row


def default_parts(config: HardwareConfig, activity: str = "trace",
                  memo: ActivityMemo | None = None) -> Parts:
    """The real circuit models for ``config`` (``activity``, ``memo``: see `Parts`)."""
    return Parts(config, activity, memo)

