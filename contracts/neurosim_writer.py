"""Write a trace as a DNN+NeuroSim V1.4 ``layer_record`` folder (the format is described
in :mod:`contracts.neurosim_reader`), so NeuroSim can run on our traces.

The export also writes ``neuropysim_export.json`` (NeuroSim ignores files its command line
does not name) with what NeuroSim's format cannot carry (scales, per-layer precision,
signedness, odd layer names), so export -> import gives back the native trace exactly (but
for input pixels no kernel window reads, see the reader). A layer imported from a NeuroSim
table that disagreed with its weights (geometry ``table_channels``) gets its table row back
as it was, so NeuroSim runs the export as it ran the original.

numpy only (no torch).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from contracts.neurosim_reader import SIDECAR, SIDECAR_FORMAT, SIDECAR_VERSION, TRACE_COMMAND
from contracts.staging import json_kind, staged_folder
from contracts.trace import LayerTrace, Trace, TraceError, network_csv_rows

__all__ = ["export_neurosim", "NEUROSIM_EXPORT_KIND"]

_CHUNK_BYTES = 8 << 20          # bytes of text built per step (ours)
_NL, _COMMA, _ZERO = b"\n,0"   # ASCII codes of the table characters


def _exported_files(sidecar: dict) -> list[str]:
    names = [TRACE_COMMAND, sidecar["network_csv"]] if "network_csv" in sidecar else \
        [TRACE_COMMAND]
    for note in sidecar.get("layers", []):
        names += [note["weight_file"], note["input_file"]]
    return names


#: a NeuroSim export of ours: its sidecar names our format and lists the files written
NEUROSIM_EXPORT_KIND = json_kind("neurosim export", SIDECAR, "format", SIDECAR_FORMAT,
                                 files=_exported_files)


def _unfold(fmap: np.ndarray, kh: int, kw: int, stride: int, pad: tuple[int, int]) -> np.ndarray:
    """Feature map [Cin, H, W] -> im2col [Cin*Kh*Kw, Ho*Wo] of the zero-padded map (row
    c*Kh*Kw + i*Kw + j, column = output position, row-major)."""
    cin = fmap.shape[0]
    padded = np.pad(fmap, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    win = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    win = win[:, ::stride, ::stride]                       # [Cin, Ho, Wo, Kh, Kw]
    return win.transpose(0, 3, 4, 1, 2).reshape(cin * kh * kw, -1)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "layer"


def _needed_input_bits(layer: LayerTrace) -> int:
    """NeuroSim's wl_activate that holds this layer's codes: its bits if signed; an unsigned
    layer needs one more when its codes use the top bit, since column 0 is always the sign."""
    g = layer.geometry
    if g.input_signed:
        return g.input_bits
    top = int(layer.input_codes.max(initial=0))
    return g.input_bits if top < 2 ** (g.input_bits - 1) else g.input_bits + 1


def _write_rows(path: Path, rows: int, make_block) -> None:
    """Write a text table block by block; ``make_block(r0, r1)`` returns uint8 characters."""
    with open(path, "wb") as fh:
        r0 = 0
        while r0 < rows:
            block, r1 = make_block(r0)
            fh.write(block.tobytes())
            r0 = r1


def _write_weights(path: Path, codes: np.ndarray, wl: int) -> None:
    """[rows, Cout] codes -> ``%10.5f`` values code/2^(wl-1), comma separated (one table row of
    11 characters per possible code, formatted by Python exactly as numpy.savetxt does)."""
    step = 2 ** (wl - 1)
    lut = np.frombuffer("".join("%10.5f," % (c / step) for c in range(-step, step)).encode(),
                        dtype=np.uint8).reshape(2 * step, -1)
    width = lut.shape[1]
    rows, cols = codes.shape
    per_block = max(1, _CHUNK_BYTES // max(1, cols * width))

    def block(r0):
        r1 = min(rows, r0 + per_block)
        chars = lut[codes[r0:r1].astype(np.int64) + step].reshape(r1 - r0, cols * width)
        chars[:, -1] = _NL
        return chars, r1

    _write_rows(path, rows, block)


def _write_bits(path: Path, columns: np.ndarray, b: int) -> None:
    """[rows, P] signed codes -> characters of their B-bit two's complement, sign first,
    column p*B + bit."""
    table = np.zeros((2 ** b, 2 * b), dtype=np.uint8)
    values = np.arange(2 ** b)
    for k in range(b):                     # one column per bit position of the table
        table[:, 2 * k] = _ZERO + ((values >> (b - 1 - k)) & 1)
    table[:, 1::2] = _COMMA
    rows, positions = columns.shape
    per_block = max(1, _CHUNK_BYTES // max(1, positions * 2 * b))
    mask = 2 ** b - 1

    def block(r0):
        r1 = min(rows, r0 + per_block)
        chars = table[columns[r0:r1].astype(np.int64) & mask].reshape(r1 - r0, positions * 2 * b)
        chars[:, -1] = _NL
        return chars, r1

    _write_rows(path, rows, block)


def export_neurosim(trace: Trace, out_dir: str | os.PathLike, model_name: str | None = None,
                    image: int = 0) -> Path:
    """Write ``trace`` (image ``image``) as a DNN+NeuroSim V1.4 ``layer_record`` folder:
    weight<name>.csv, input<name>.csv, trace_command.sh, NetWork_<model>.csv (and the
    sidecar that makes the round trip exact). Written beside ``out_dir`` and renamed into
    place. Returns ``out_dir``.

    NeuroSim takes one wl_weight and one wl_activate for the whole network: the largest
    layer precision is used (an unsigned layer whose codes use their top bit needs one more
    bit for NeuroSim's sign column; a warning says so)."""
    if not trace.layers:
        raise TraceError("export_neurosim: the trace has no layers")
    target = Path(out_dir)
    model = model_name or str(trace.manifest.get("network") or "NET")
    wl_weight = max(layer.geometry.weight_bits for layer in trace.layers)
    needed = [_needed_input_bits(layer) for layer in trace.layers]
    wl_act = max(needed)
    widened = [layer.geometry.name for layer, n in zip(trace.layers, needed)
               if n > layer.geometry.input_bits]
    if widened:
        warnings.warn(f"export_neurosim: unsigned activations of {', '.join(widened)} use their "
                      f"top bit; NeuroSim's format spends bit 0 on the sign, so wl_activate = "
                      f"{wl_act}", stacklevel=2)
    config = trace.manifest.get("config", {}) if isinstance(trace.manifest, dict) else {}
    sub_array = int(config.get("subarray_rows", 128))
    parallel = int(config.get("rows_in_parallel") or sub_array)

    with staged_folder(target, NEUROSIM_EXPORT_KIND, what="neurosim_export") as staging:
        used: set[str] = set()
        files, notes = [], []
        for index, layer in enumerate(trace.layers):
            g = layer.geometry
            stem = _safe(g.name)
            if stem in used:
                stem = f"{stem}_{index}"
            used.add(stem)
            w_file, x_file = f"weight{stem}.csv", f"input{stem}.csv"
            where = f"layer {g.name!r}"
            if not 0 <= image < layer.images:
                raise TraceError(f"{where}: image {image} not in the trace ({layer.images})")
            weights = np.asarray(layer.weight_codes)
            if tuple(weights.shape) != g.weight_shape:
                raise TraceError(f"{where}: weight_codes shape {weights.shape} is not "
                                 f"{g.weight_shape}")
            if g.groups != 1 or g.dilation != (1, 1):
                raise TraceError(f"{where}: NeuroSim's format has no groups or dilation")
            x = np.asarray(layer.input_codes[image]).astype(np.int64)
            if g.kind == "linear":
                w_table = weights.reshape(g.out_channels, -1).T
                columns = x.reshape(-1, 1)
            else:
                w_table = weights.reshape(g.out_channels, -1).T
                columns = _unfold(x, *g.kernel_size, g.stride[0], g.padding)
                if g.stride[0] != g.stride[1]:
                    raise TraceError(f"{where}: NeuroSim's NetWork csv has one stride per "
                                     f"layer, not {g.stride}")
            lim = 2 ** (wl_act - 1)
            if columns.size and (columns.min() < -lim or columns.max() > lim - 1):
                raise TraceError(f"{where}: input codes do not fit {wl_act} bits")
            _write_weights(staging / w_file, np.ascontiguousarray(w_table), wl_weight)
            _write_bits(staging / x_file, columns, wl_act)
            files.append((w_file, x_file))
            notes.append({"weight_file": w_file, "input_file": x_file,
                          "geometry": g.to_json(),
                          "weight_scale": np.asarray(layer.weight_scale).tolist(),
                          "input_scale": float(layer.input_scale)})
        net_name = f"NetWork_{_safe(model)}.csv"
        rows = network_csv_rows([layer.geometry for layer in trace.layers])
        (staging / net_name).write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
        # NeuroSim's own layout: every token followed by one space, no final line break
        tokens = ["./NeuroSIM/main", f"./NeuroSIM/{net_name}", wl_weight, wl_act, sub_array,
                  parallel] + [f"./{target.name}/{f}" for pair in files for f in pair]
        (staging / TRACE_COMMAND).write_text("".join(f"{t} " for t in tokens))
        manifest = {k: v for k, v in trace.manifest.items()
                    if k not in ("layers", "neurosim", "source", "format")}
        (staging / SIDECAR).write_text(json.dumps(
            {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "manifest": manifest,
             "image": image, "network_csv": net_name, "layers": notes}, indent=1, default=str) + "\n")
    return target
