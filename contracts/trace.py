"""The trace contract between step 1 (writes) and step 2 (reads): DESIGN.md §3.

A trace folder ``layer_record_<NET>/`` holds ``manifest.json``, one ``.npz`` per compute
layer (integer weight codes with their scale, integer input-activation codes of the traced
images) and ``NetWork.csv`` in DNN+NeuroSim's 8-column layout.

numpy only: step 2 reads traces without importing torch.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from contracts.staging import json_kind, staged_folder

__all__ = [
    "FORMAT_NAME",
    "SCHEMA_VERSION",
    "LayerGeometry",
    "LayerTrace",
    "Trace",
    "TraceError",
    "read_trace",
    "write_trace",
    "TRACE_KIND",
    "network_csv_rows",
    "pool_shape",
    "LAYER_KINDS",
]

FORMAT_NAME = "neuropysim-trace"
LAYER_KINDS = ("conv2d", "linear", "dynamic_matmul")
SCHEMA_VERSION = 1
TOOL_VERSION = "0.1.0"
MANIFEST = "manifest.json"
NETWORK_CSV = "NetWork.csv"


#: a trace folder of ours: its manifest.json names our format (any schema); our files are the
#: manifest, NetWork.csv and the layer files the manifest lists
TRACE_KIND = json_kind(
    "trace", MANIFEST, "format", FORMAT_NAME,
    files=lambda m: [NETWORK_CSV, *(e["file"] for e in m.get("layers", []) if isinstance(e, dict))])


class TraceError(ValueError):
    """A trace folder is missing, incomplete or inconsistent; the message names the file."""


@dataclass(frozen=True)
class LayerGeometry:
    """Shape of one compute layer as the hardware sees it.

    Three kinds (docs/architecture.md, "The trace"):

    - ``conv2d``: weights ``(Cout, Cin/groups, Kh, Kw)``, inputs ``(N, Cin, H, W)``;
    - ``linear``: weights ``(Cout, Cin)``; inputs ``(N, Cin)``, or ``(N, T, Cin)`` for a
      layer applied to each of T tokens (``input_hw = output_hw = (T, 1)``; T vectors per
      image);
    - ``dynamic_matmul``: a product of two activations per head (attention's Q.K^T and
      A.V). ``groups`` = heads H, ``in_channels`` = H*K, ``out_channels`` = H*N, ``input_hw
      = output_hw = (M, 1)``: per image and head an (M x K) operand ("inputs", streamed as
      M input vectors) times a (K x N) operand ("weights", a new one for every input).
      Codes: weights ``(N_images, H, K, N)``, inputs ``(N_images, H, M, K)``; the weight
      scale is one value. Its cost depends on config.dynamic_matmul_policy.
    """

    name: str
    kind: str                       # "conv2d", "linear" or "dynamic_matmul"
    in_channels: int                # linear: input features; dynamic_matmul: heads x K
    out_channels: int               # linear: output features; dynamic_matmul: heads x N
    kernel_size: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    input_hw: tuple[int, int] = (1, 1)
    output_hw: tuple[int, int] = (1, 1)
    followed_by: tuple[str, ...] = ()   # e.g. ("relu", "maxpool2x2")
    weight_bits: int = 8
    input_bits: int = 8
    input_signed: bool = False
    file: str = ""
    # (in, out) channels of a DNN+NeuroSim NetWork csv that disagree with the weights (its
    # DenseNet40 table gives Cout after the concatenation); None: the table agrees. Only
    # NeuroSim's convention prices them (chip quirk neurosim_table_shape, table_geometry)
    table_channels: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise TraceError(f"layer {self.name!r}: kind={self.kind!r} must be one of "
                             f"{', '.join(LAYER_KINDS)}")
        for name in ("kernel_size", "stride", "padding", "dilation", "input_hw", "output_hw"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        object.__setattr__(self, "followed_by", tuple(self.followed_by))
        if self.table_channels is not None:
            self._check_table_channels()
        if self.kind != "conv2d":
            self._check_token_layer()

    def _check_token_layer(self) -> None:
        """linear and dynamic_matmul: one vector per token, (T, 1) in and out, no kernel."""
        where = f"layer {self.name!r} ({self.kind})"
        if self.input_hw != self.output_hw or self.output_hw[1] != 1:
            raise TraceError(f"{where}: input_hw={self.input_hw} and output_hw="
                             f"{self.output_hw} must both be (tokens, 1)")
        if self.kernel_size != (1, 1):
            raise TraceError(f"{where}: kernel_size={self.kernel_size} must be (1, 1)")
        if self.kind == "linear" and self.groups != 1:
            raise TraceError(f"{where}: groups={self.groups} must be 1")
        if self.kind == "dynamic_matmul" and (
                self.groups < 1 or self.in_channels % self.groups
                or self.out_channels % self.groups):
            raise TraceError(f"{where}: in_channels={self.in_channels} and out_channels="
                             f"{self.out_channels} must be multiples of groups (heads)="
                             f"{self.groups}")

    @property
    def dynamic(self) -> bool:
        """True when the layer's weight operand is an activation (a new one per input)."""
        return self.kind == "dynamic_matmul"

    @property
    def tokens(self) -> int:
        """Vectors per image of a linear or dynamic_matmul layer (1: a plain linear)."""
        return self.output_hw[0]

    def _check_table_channels(self) -> None:
        value = tuple(int(v) for v in self.table_channels)
        if len(value) != 2 or min(value) < 1:
            raise TraceError(f"layer {self.name!r}: table_channels={self.table_channels!r} "
                             f"must be two positive channel counts (in, out)")
        if self.groups != 1:
            raise TraceError(f"layer {self.name!r}: table_channels with groups={self.groups}; "
                             f"NeuroSim's NetWork csv has no grouped layers")
        object.__setattr__(self, "table_channels", value)

    @property
    def rows(self) -> int:
        """Rows of the unrolled weight matrix: (in_channels / groups) * K_h * K_w."""
        return self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]

    @property
    def input_vectors(self) -> int:
        """Input vectors per image = output positions (padding included)."""
        return self.output_hw[0] * self.output_hw[1]

    @property
    def macs(self) -> int:
        """Multiply-accumulates per image."""
        return self.rows * self.out_channels * self.input_vectors

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """Shape of one weight operand (dynamic_matmul: one image's, heads x K x N)."""
        if self.kind == "linear":
            return (self.out_channels, self.in_channels)
        if self.kind == "dynamic_matmul":
            return (self.groups, self.rows, self.out_channels // self.groups)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def weight_codes_shape(self, images: int) -> tuple[int, ...]:
        """Shape of the stored weight codes: the weights, or one operand per image."""
        return (images, *self.weight_shape) if self.dynamic else self.weight_shape

    def input_shape(self, images: int) -> tuple[int, ...]:
        if self.kind == "linear":
            return (images, self.in_channels) if self.tokens == 1 else \
                (images, self.tokens, self.in_channels)
        if self.kind == "dynamic_matmul":
            return (images, self.groups, self.tokens, self.rows)
        return (images, self.in_channels, *self.input_hw)

    def table_geometry(self) -> "LayerGeometry":
        """This layer with the channel counts of its NeuroSim table (itself when they agree)."""
        if self.table_channels is None:
            return self
        cin, cout = self.table_channels
        return replace(self, in_channels=cin, out_channels=cout, table_channels=None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["table_channels"] is None:
            del data["table_channels"]      # written only when a table disagreed
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LayerGeometry":
        return cls(**data)


@dataclass
class LayerTrace:
    """One layer's geometry and data: integer codes and the scales that give real values.

    ``weight_scale`` is one float (per tensor), or a vector of ``out_channels`` floats (per
    output channel, imported integer models): ``w[c] = code[c] * weight_scale[c]``.
    ``input_zero_point`` is 0 except for imported integer models:
    ``x = (code - input_zero_point) * input_scale``. Both are optional in the ``.npz``
    (absent: per-tensor scale, zero point 0), so older traces read unchanged.
    """

    geometry: LayerGeometry
    weight_codes: np.ndarray        # signed ints, weight_shape; w = code * weight_scale
    weight_scale: float | np.ndarray
    input_codes: np.ndarray         # ints, input_shape(N); x = (code - zp) * input_scale
    input_scale: float
    input_zero_point: int = 0

    @property
    def images(self) -> int:
        return int(self.input_codes.shape[0])

    def table_view(self) -> "LayerTrace":
        """This layer as NeuroSim prices a disagreeing NetWork csv row (the table's channel
        counts): channels the trace lacks hold zero weights and zero inputs, channels the
        table lacks are left out. Itself when the table agrees."""
        g = self.geometry
        if g.table_channels is None:
            return self
        t = g.table_geometry()
        co, ci = min(g.out_channels, t.out_channels), min(g.in_channels, t.in_channels)
        weights = np.zeros(t.weight_shape, dtype=self.weight_codes.dtype)
        weights[:co, :ci] = self.weight_codes[:co, :ci]
        inputs = np.zeros(t.input_shape(self.images), dtype=self.input_codes.dtype)
        inputs[:, :ci] = self.input_codes[:, :ci]
        scale = self.weight_scale
        if np.ndim(scale):                    # per output channel: missing ones weigh 1
            scale = np.concatenate([np.asarray(scale, dtype=np.float64)[:co],
                                    np.ones(t.out_channels - co)])
        return LayerTrace(t, weights, scale, inputs, self.input_scale, self.input_zero_point)


@dataclass
class Trace:
    """A whole trace folder, read back."""

    manifest: dict[str, Any]
    layers: list[LayerTrace] = field(default_factory=list)

    @property
    def network(self) -> str:
        return self.manifest["network"]

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest["config"]


def _smallest_int_dtype(codes: np.ndarray) -> np.dtype:
    lo, hi = (int(codes.min()), int(codes.max())) if codes.size else (0, 0)
    for dtype in (np.uint8, np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


_POOL = re.compile(r"^(max|avg)pool(\d+)x(\d+)(?:s(\d+)(?:x(\d+))?)?$")


def pool_shape(step: str) -> tuple[str, tuple[int, int], tuple[int, int]] | None:
    """(kind, window, stride) of a pooling step of ``followed_by`` (``maxpool2x2``,
    ``maxpool3x3s2x2``, ``maxpool3x3s2``), or None for any other step. The stride is the
    window unless named."""
    match = _POOL.match(step)
    if not match:
        return None
    window = (int(match[2]), int(match[3]))
    stride = window if not match[4] else (int(match[4]), int(match[5] or match[4]))
    return match[1], window, stride


def network_csv_rows(geometries: Sequence[LayerGeometry]) -> list[list[int]]:
    """DNN+NeuroSim's NetWork.csv: IFM_H, IFM_W, Cin, K_H, K_W, Cout, max-pool follows, stride.
    A linear layer over T tokens is a T x 1 map; dynamic_matmul layers have no row (the
    table has no way to say that a weight changes per input)."""
    rows = []
    for g in geometries:
        if g.dynamic:
            continue
        pooled = int(any(step.startswith("maxpool") for step in g.followed_by))
        t = g.table_geometry()      # a NeuroSim table that disagreed is written back as it was
        rows.append([t.input_hw[0], t.input_hw[1], t.in_channels, t.kernel_size[0],
                     t.kernel_size[1], t.out_channels, pooled, t.stride[0]])
    return rows


def write_trace(directory: str | os.PathLike, network: str, layers: Sequence[LayerTrace],
                config: dict[str, Any], config_hash: str, dataset: dict[str, Any] | None = None,
                accuracy: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
                ) -> Path:
    """Write a trace folder atomically: build it beside the target, then rename into place.

    An existing ``directory`` is replaced only if it is empty or a trace of ours
    (:data:`TRACE_KIND`; the user's own files in it are kept); otherwise
    contracts.staging.FolderNotOursError, nothing written.
    """
    target = Path(directory)
    with staged_folder(target, TRACE_KIND, what="trace_dir") as staging:
        entries = []
        for index, layer in enumerate(layers):
            g = layer.geometry
            file_name = f"layer{index:03d}_{_safe(g.name)}.npz"
            _check_shapes(g, layer.weight_codes, layer.input_codes, file_name)
            _check_scale(g, layer.weight_scale, file_name)
            np.savez_compressed(
                staging / file_name,
                weight_codes=layer.weight_codes.astype(_smallest_int_dtype(layer.weight_codes)),
                weight_scale=np.asarray(layer.weight_scale, dtype=np.float64),
                input_codes=layer.input_codes.astype(_smallest_int_dtype(layer.input_codes)),
                input_scale=np.float64(layer.input_scale),
                **({"input_zero_point": np.int64(layer.input_zero_point)}
                   if layer.input_zero_point else {}),
            )
            entries.append(dict(g.to_json(), file=file_name))
        manifest = {
            "format": FORMAT_NAME,
            "schema_version": SCHEMA_VERSION,
            "tool_version": TOOL_VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "network": network,
            "config": dict(config),
            "config_hash": config_hash,
            "dataset": dict(dataset or {}),
            "accuracy": dict(accuracy or {}),
            "images": layers[0].images if layers else 0,
            "layers": entries,
        }
        if extra:
            manifest.update(extra)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        rows = network_csv_rows([LayerGeometry.from_json(e) for e in entries])
        (staging / NETWORK_CSV).write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    return target


def _check_scale(g: LayerGeometry, scale, where: str) -> None:
    shape = np.shape(scale)
    if g.dynamic and shape != ():
        raise TraceError(f"{where}: weight_scale shape {shape} must be one value (a "
                         f"dynamic_matmul operand has one scale)")
    if shape not in ((), (g.out_channels,)):
        raise TraceError(f"{where}: weight_scale shape {shape} is neither one value nor one "
                         f"per output channel ({g.out_channels})")


def _scale_value(scale: np.ndarray) -> float | np.ndarray:
    """A stored weight scale: a float (per tensor) or a float64 vector (per channel)."""
    return float(scale) if scale.ndim == 0 else scale.astype(np.float64)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _check_shapes(g: LayerGeometry, weights: np.ndarray, inputs: np.ndarray, where: str) -> None:
    images = inputs.shape[0] if inputs.ndim else 0
    if tuple(weights.shape) != g.weight_codes_shape(images):
        raise TraceError(f"{where}: weight_codes shape {tuple(weights.shape)} disagrees with "
                         f"layer {g.name!r} geometry {g.weight_codes_shape(images)}")
    if inputs.ndim < 1 or tuple(inputs.shape) != g.input_shape(inputs.shape[0]):
        raise TraceError(f"{where}: input_codes shape {tuple(inputs.shape)} disagrees with "
                         f"layer {g.name!r} geometry {g.input_shape(inputs.shape[0] if inputs.ndim else 0)}")
    if not np.issubdtype(weights.dtype, np.integer) or not np.issubdtype(inputs.dtype,
                                                                          np.integer):
        raise TraceError(f"{where}: weight and input codes must be integers")
    w_lim = 2 ** (g.weight_bits - 1)
    if weights.size and (weights.min() < -w_lim or weights.max() > w_lim - 1):
        raise TraceError(f"{where}: weight codes outside the signed {g.weight_bits}-bit range")
    if inputs.size:
        lo, hi = ((-2 ** (g.input_bits - 1), 2 ** (g.input_bits - 1) - 1) if g.input_signed
                  else (0, 2 ** g.input_bits - 1))
        if inputs.min() < lo or inputs.max() > hi:
            raise TraceError(f"{where}: input codes outside the {g.input_bits}-bit range "
                             f"[{lo}, {hi}]")


def _read_manifest(folder: Path) -> dict[str, Any]:
    if folder.is_file():
        raise TraceError(f"trace {str(folder)!r} is a file, not a trace folder (give the folder "
                         f"step 1 wrote, or a DNN+NeuroSim layer_record folder or archive)")
    if not folder.is_dir():
        raise TraceError(f"trace folder {str(folder)!r} does not exist (run inference_sim.py "
                         f"first, or pass --trace PATH)")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise TraceError(f"{manifest_path}: missing; {folder} is not a complete trace folder")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TraceError(f"{manifest_path}: unreadable ({err})") from None
    if not isinstance(manifest, dict):
        raise TraceError(f"{manifest_path}: holds a JSON {type(manifest).__name__}, not the "
                         f"manifest object")
    if manifest.get("format") != FORMAT_NAME:
        raise TraceError(f"{manifest_path}: format {manifest.get('format')!r} is not "
                         f"{FORMAT_NAME!r}")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise TraceError(f"{manifest_path}: schema_version {manifest.get('schema_version')!r} "
                         f"is not supported (this tool reads {SCHEMA_VERSION})")
    for key, kind in (("network", str), ("config", dict), ("layers", list)):
        if not isinstance(manifest.get(key), kind):
            raise TraceError(f"{manifest_path}: {key!r} must be a JSON "
                             f"{'string' if kind is str else 'object' if kind is dict else 'list'}"
                             f", not {type(manifest.get(key)).__name__}")
    return manifest


def _layer_file(folder: Path, geometry: LayerGeometry) -> Path:
    """The layer's data file, which must lie in the trace folder itself."""
    name = geometry.file
    if not name or Path(name).name != name or name in (".", ".."):
        raise TraceError(f"{folder / MANIFEST}: layer {geometry.name!r} names file {name!r}; "
                         f"a layer file must be a plain name inside the trace folder")
    path = folder / name
    if not path.is_file():
        raise TraceError(f"{path}: missing (listed in {MANIFEST})")
    return path


def _read_layer(path: Path, geometry: LayerGeometry) -> LayerTrace:
    try:
        with np.load(path, allow_pickle=False) as data:
            weights = data["weight_codes"]
            inputs = data["input_codes"]
            w_scale = _scale_value(data["weight_scale"])
            x_scale = float(data["input_scale"])
            x_zero = int(data["input_zero_point"]) if "input_zero_point" in data else 0
    except KeyError as err:
        raise TraceError(f"{path}: no array {err} (a layer file holds weight_codes, "
                         f"weight_scale, input_codes, input_scale)") from None
    except Exception as err:  # zip or format errors; numpy's own text advises pickle
        raise TraceError(f"{path}: not a layer file of ours (an .npz of integer codes; "
                         f"{type(err).__name__})") from None
    _check_shapes(geometry, weights, inputs, str(path))
    _check_scale(geometry, w_scale, str(path))
    return LayerTrace(geometry, weights, w_scale, inputs, x_scale, x_zero)


def read_trace(directory: str | os.PathLike) -> Trace:
    """Read and check a trace folder; any problem raises TraceError naming the file."""
    folder = Path(directory)
    manifest = _read_manifest(folder)
    trace = Trace(manifest=manifest)
    for entry in manifest["layers"]:
        if not isinstance(entry, dict):
            raise TraceError(f"{folder / MANIFEST}: a layer entry is a JSON "
                             f"{type(entry).__name__}, not an object")
        try:
            geometry = LayerGeometry.from_json(entry)
        except (TypeError, ValueError) as err:
            raise TraceError(f"{folder / MANIFEST}: bad layer entry {entry.get('name')!r}: "
                             f"{str(err).splitlines()[0]}") from None
        trace.layers.append(_read_layer(_layer_file(folder, geometry), geometry))
    if not trace.layers:
        raise TraceError(f"{folder / MANIFEST}: lists no layers")
    return trace
