"""DNN+NeuroSim V1.4 trace folders: read them into our trace contract.

NeuroSim's Python side writes ``layer_record_<model>/`` (reference/neurosim-v1.4.md §6):

- ``weight<name>.csv``: [Cin*K*K, Cout] weights, row = c*K*K + kh*K + kw, printed ``%10.5f``
  comma-separated, on the grid 1/2^(wl_weight-1);
- ``input<name>.csv``: [Cin*K*K, P*B] characters 0/1, the im2col of the zero-PADDED input
  feature map (P output positions, row-major), column p*B + b = bit b of the activation at
  position p; b = 0 is the sign bit (weight -2^(B-1)), b = 1..B-1 the remaining bits MSB
  first (two's complement of x*2^(B-1), NeuroSim's ``dec2bin``); linear layers [Cin, B];
- ``trace_command.sh``: ``main NetWork_<model>.csv wl_weight wl_activate subArray parallelRead
  w1 in1 w2 in2 ...`` (gives the layer order and the precisions);
- ``NetWork_<model>.csv``: 8 integers per layer: IFM_H, IFM_W, Cin, K_H, K_W, Cout,
  followed-by-max-pool, stride.

`read_neurosim` turns such a folder (or a ``.tar.xz``/``.tar.gz`` of it, streamed; files may
be ``.csv.gz``) into a `contracts.trace.Trace`: signed integer weight codes w*2^(wl-1) and the
input feature map [1, Cin, H, W] recovered from the im2col bits (every overlapping patch is
checked to agree; the padding is inferred from the number of positions).
`contracts.neurosim_writer.export_neurosim` writes the same format from a `Trace`, so NeuroSim
can run on our traces.

NeuroSim's format cannot carry everything our contract holds (scales, per-layer precision,
signedness of a layer whose values happen to be non-negative, layer names with odd
characters). The export therefore also writes ``neuropysim_export.json`` (NeuroSim ignores
files its command line does not name); `read_neurosim` uses it, after checking it against
the data, so export -> import gives back the native trace exactly, except input pixels no
kernel window reads (a 1x1 stride-2 shortcut reads every other pixel): the im2col does not
hold them and they come back as zeros, which changes no figure. Without the sidecar (a
folder written by NeuroSim) the precisions come from ``trace_command.sh`` and the scales are
2^-(wl-1).

A NetWork csv row whose Cin or Cout disagrees with the layer's weight and input files (the
files hold Cin*K*K rows and Cout columns) is imported, as NeuroSim runs it: NeuroSim's own
DenseNet40 table gives the 3x3 bottleneck convs Cout = the channel count after their
concatenation while the traces hold their 12 filters. The layer's geometry takes the
channels of its files; ``table_channels`` records the table's (in, out); one
`NeuroSimTableWarning` per import names every such layer with both shapes, and the manifest
lists them (``neurosim.table_disagreements``). Step 2 prices the files' shape, or under quirk
``neurosim_table_shape`` (compat mode) the table's, the missing channels holding zero weights
(and zero inputs). Refused, because no shape can be priced: weight and input files of
different row counts, or rows that are not whole kernels of the table's K_H x K_W.

numpy only (no torch): step 2 reads traces without importing torch.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import shlex
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

import numpy as np

from contracts.trace import LayerGeometry, LayerTrace, Trace, TraceError

__all__ = ["FORMAT_NAME", "SIDECAR", "SIDECAR_FORMAT", "TRACE_COMMAND", "NeuroSimTableWarning",
           "read_neurosim", "read_network_csv"]

FORMAT_NAME = "dnn-neurosim-1.4-layer-record"
TRACE_COMMAND = "trace_command.sh"
SIDECAR = "neuropysim_export.json"
SIDECAR_FORMAT = "neuropysim-neurosim-export"
SIDECAR_VERSION = 1
_CHUNK_BYTES = 8 << 20          # bytes read per step of the streaming parse (ours)
_NL, _CR, _COMMA, _ZERO, _ONE, _DOT, _MINUS, _SPACE = b"\n\r,01.- "


class NeuroSimTableWarning(UserWarning):
    """A NetWork csv's channel counts disagree with the weight traces it names (the layers
    are imported with both shapes; see `read_neurosim`)."""


# ----------------------------------------------------------------------------------------
# streaming text -> compact integer arrays
# ----------------------------------------------------------------------------------------

def _line_chunks(stream: IO[bytes], chunk_bytes: int = _CHUNK_BYTES) -> Iterator[bytes]:
    """Yield pieces of ``stream`` that each end on a line break (a missing final one added)."""
    rest = b""
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        block = rest + block if rest else block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        rest = block[cut + 1:]
        yield block[:cut + 1]
    if rest.strip():
        yield rest + b"\n"


def _first_bad_row(arr: np.ndarray, line_len: int, row0: int) -> tuple[int, int]:
    """Row number (1-based, in the file) and length of the first line not ``line_len`` long."""
    ends = np.flatnonzero(arr == _NL)
    lengths = np.diff(np.concatenate(([-1], ends)))
    bad = np.flatnonzero(lengths != line_len)
    k = int(bad[0]) if bad.size else len(lengths)
    length = int(lengths[k]) if k < len(lengths) else int(arr.size - (ends[-1] + 1 if ends.size
                                                                        else 0))
    return row0 + k + 1, length


def _parse_bits(stream: IO[bytes], where: str) -> np.ndarray:
    """An ``input*.csv`` of single 0/1 characters -> uint8 array [rows, cells] of 0/1.

    Every row must hold the same number of cells, each one character, separated by commas and
    ended by a line break (LF or CRLF), as numpy's savetxt writes them."""
    parts: list[np.ndarray] = []
    line_len = cells = crlf = None
    rows = 0
    for chunk in _line_chunks(stream):
        arr = np.frombuffer(chunk, dtype=np.uint8)
        if line_len is None:
            line_len = int(np.flatnonzero(arr == _NL)[0]) + 1
            crlf = line_len >= 2 and arr[line_len - 2] == _CR
            body = line_len - 1 - int(crlf)
            if body % 2 != 1:
                raise TraceError(f"{where}: row 1 is not single 0/1 characters separated by "
                                 f"commas ({body} characters)")
            cells = (body + 1) // 2
        if arr.size % line_len or not np.all(arr[line_len - 1::line_len] == _NL):
            row, length = _first_bad_row(arr, line_len, rows)
            raise TraceError(f"{where}: ragged rows: row {row} is {length} characters long, "
                             f"row 1 is {line_len} ({cells} cells)")
        table = arr.reshape(-1, line_len)
        seps = table[:, 1:2 * cells - 1:2]
        if crlf and not np.all(table[:, -2] == _CR) or not np.all(seps == _COMMA):
            bad = np.argwhere(seps != _COMMA)
            r = int(bad[0, 0]) if bad.size else int(np.flatnonzero(table[:, -2] != _CR)[0])
            raise TraceError(f"{where}: row {rows + r + 1}: cells are not single characters "
                             f"separated by commas")
        bits = table[:, 0:2 * cells:2] - np.uint8(_ZERO)
        if bits.max(initial=0) > 1:
            r, c = (int(v) for v in np.argwhere(bits > 1)[0])
            char = chr(table[r, 2 * c])
            raise TraceError(f"{where}: row {rows + r + 1}, column {c + 1}: {char!r} is not a "
                             f"0/1 bit character")
        parts.append(bits)
        rows += table.shape[0]
    if not parts:
        raise TraceError(f"{where}: empty file")
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


@dataclass
class _Weights:
    """Parsed weight table: exact decimal ``units`` (value = units / 10**digits) from the
    fixed-width fast path, or float ``values`` from the general path."""

    units: np.ndarray | None
    digits: int
    values: np.ndarray | None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.units if self.units is not None else self.values).shape


def _fixed_width_layout(first: np.ndarray) -> tuple[int, int, int] | None:
    """(cell width, position of the decimal point, fraction digits) if row 1 is fixed width."""
    line = bytes(first)
    body = line.rstrip(b"\r\n")
    cells = body.split(b",")
    width = len(cells[0])
    if width == 0 or any(len(c) != width for c in cells):
        return None
    dot = cells[0].find(b".")
    if dot <= 0 or dot == width - 1:
        return None
    return width, dot, width - dot - 1


def _decode_fixed(table: np.ndarray, cells: int, width: int, dot: int) -> np.ndarray | None:
    """Fixed-width decimal cells -> int64 units; None if any cell breaks the layout."""
    grid = table[:, :cells * (width + 1)].reshape(table.shape[0], cells, width + 1)
    if not (np.all(grid[:, :-1, width] == _COMMA) and np.all(grid[:, :, dot] == _DOT)):
        return None
    chars = grid[:, :, :width]
    digit = chars - np.uint8(_ZERO)
    is_digit = digit < 10
    frac = chars[:, :, dot + 1:]
    if not np.all(is_digit[:, :, dot + 1:]):
        return None
    head = chars[:, :, :dot]
    head_ok = is_digit[:, :, :dot] | (head == _SPACE) | (head == _MINUS)
    negative = head == _MINUS
    if not np.all(head_ok) or np.any(negative.sum(axis=2) > 1):
        return None
    units = np.zeros(chars.shape[:2], dtype=np.int64)
    for k in range(dot):                       # integer part, most significant first
        units = units * 10 + np.where(is_digit[:, :, k], digit[:, :, k], 0)
    for k in range(frac.shape[2]):             # fraction digits
        units = units * 10 + digit[:, :, dot + 1 + k]
    units = np.where(negative.any(axis=2), -units, units)
    if dot + frac.shape[2] <= 9:               # |units| < 10**9 fits int32
        units = units.astype(np.int32)
    return units


def _parse_weights(stream: IO[bytes], where: str) -> _Weights:
    """A ``weight*.csv`` -> exact decimal units (fixed-width fast path, ``%10.5f`` as NeuroSim
    writes it, parsed from the characters without float conversion) or floats otherwise."""
    unit_parts: list[np.ndarray] = []
    float_parts: list[np.ndarray] = []
    layout = None
    line_len = cells = None
    rows = 0
    for chunk in _line_chunks(stream):
        arr = np.frombuffer(chunk, dtype=np.uint8)
        if cells is None:
            line_len = int(np.flatnonzero(arr == _NL)[0]) + 1
            first = arr[:line_len]
            cells = bytes(first).rstrip(b"\r\n").count(b",") + 1
            layout = _fixed_width_layout(first)
            crlf = line_len >= 2 and first[-2] == _CR
        units = None
        if layout is not None and not float_parts and arr.size % line_len == 0 \
                and np.all(arr[line_len - 1::line_len] == _NL) \
                and line_len == cells * (layout[0] + 1) + int(crlf):
            units = _decode_fixed(arr.reshape(-1, line_len), cells, layout[0], layout[1])
        if units is not None:
            unit_parts.append(units)
            rows += units.shape[0]
            continue
        # general path: real float parsing (other widths, exponents, stray spaces, ...)
        if unit_parts:
            float_parts = [u / 10.0 ** layout[2] for u in unit_parts]
            unit_parts = []
        try:
            values = np.loadtxt(io.BytesIO(chunk), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as err:
            raise TraceError(f"{where}: unreadable weights after row {rows} "
                             f"({str(err).splitlines()[0]})") from None
        if values.shape[1] != cells:
            raise TraceError(f"{where}: ragged rows: {values.shape[1]} cells near row "
                             f"{rows + 1}, row 1 has {cells}")
        float_parts.append(values)
        rows += values.shape[0]
    if cells is None:
        raise TraceError(f"{where}: empty file")
    if float_parts:
        return _Weights(None, 0, np.concatenate(float_parts))
    return _Weights(np.concatenate(unit_parts), layout[2], None)


def _weight_codes(raw: _Weights, bits: int, where: str) -> np.ndarray:
    """Weights on the 1/2^(bits-1) grid -> signed integer codes; the rounding of the printed
    decimals is the only deviation allowed. Works in row blocks to bound memory."""
    step = 2 ** (bits - 1)
    table = raw.units if raw.units is not None else raw.values
    out = np.empty(table.shape, dtype=_int_dtype(-step, step - 1))
    block = max(1, (1 << 20) // max(1, table.shape[1]))
    for r0 in range(0, table.shape[0], block):
        out[r0:r0 + block] = _weight_block(raw, r0, table[r0:r0 + block], step, bits, where)
    return out


def _weight_block(raw: _Weights, r0: int, part: np.ndarray, step: int, bits: int,
                  where: str) -> np.ndarray:
    if raw.units is not None:
        ten = 10 ** raw.digits
        if step >= ten:
            raise TraceError(f"{where}: {raw.digits} printed decimals cannot resolve "
                             f"{bits}-bit weight codes")
        scaled = part.astype(np.int64) * step                      # = code * ten + error
        codes = np.floor_divide(2 * scaled + ten, 2 * ten)         # nearest integer
        error2 = np.abs(2 * (scaled - codes * ten))                # 2 * |error| * ten
        if int(error2.max(initial=0)) > step:  # more than the print rounding 0.5e-digits
            r, c = np.unravel_index(int(np.argmax(error2)), error2.shape)
            raise TraceError(f"{where}: weight {part[r, c] / ten:.{raw.digits}f} at row "
                             f"{r0 + r + 1}, column {c + 1} is not on the 1/{step} grid of "
                             f"{bits}-bit weights")
    else:
        scaled = part * step
        codes = np.rint(scaled)
        error = np.abs(scaled - codes)
        if error.max(initial=0.0) > step * 0.5e-5 + 1e-9:
            r, c = np.unravel_index(int(np.argmax(error)), error.shape)
            raise TraceError(f"{where}: weight {part[r, c]!r} at row {r0 + r + 1}, column "
                             f"{c + 1} is not on the 1/{step} grid of {bits}-bit weights")
        codes = codes.astype(np.int64)
    lo, hi = int(codes.min(initial=0)), int(codes.max(initial=0))
    if lo < -step or hi > step - 1:
        bad = np.argwhere((codes < -step) | (codes > step - 1))[0]
        raise TraceError(f"{where}: weight at row {r0 + bad[0] + 1}, column {bad[1] + 1} is code "
                         f"{codes[tuple(bad)]}, outside the signed {bits}-bit range "
                         f"[{-step}, {step - 1}]")
    return codes


def _int_dtype(lo: int, hi: int) -> np.dtype:
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _bits_to_codes(bits: np.ndarray, b: int) -> tuple[np.ndarray, bool]:
    """[rows, P*B] bit characters -> [rows, P] signed codes (NeuroSim's dec2bin: bit 0 weighs
    -2^(B-1), bits 1..B-1 weigh 2^(B-2) .. 1) and whether any sign bit is set."""
    rows = bits.shape[0]
    planes = bits.reshape(rows, -1, b)
    weights = 2 ** np.arange(b - 1, -1, -1, dtype=np.int32)
    weights[0] = -weights[0]
    codes = planes @ weights.astype(np.int16 if b <= 15 else np.int32)
    return codes, bool(planes[:, :, 0].any())


# ----------------------------------------------------------------------------------------
# im2col of the padded feature map, both ways
# ----------------------------------------------------------------------------------------

def _out_hw(h: int, w: int, kh: int, kw: int, stride: int, ph: int, pw: int) -> tuple[int, int]:
    # standard convolution arithmetic (PyTorch's output size)
    return (h + 2 * ph - kh) // stride + 1, (w + 2 * pw - kw) // stride + 1


def _padding_candidates(positions: int, h: int, w: int, kh: int, kw: int,
                        stride: int) -> list[tuple[int, int]]:
    """Paddings (equal ones first) whose output size gives ``positions`` im2col columns."""
    found = []
    for ph in range(kh):
        for pw in range(kw):
            ho, wo = _out_hw(h, w, kh, kw, stride, ph, pw)
            if ho > 0 and wo > 0 and ho * wo == positions:
                found.append((ph, pw))
    return sorted(found, key=lambda p: (p[0] != p[1], p))


def _fold(codes: np.ndarray, cin: int, kh: int, kw: int, h: int, w: int, stride: int,
          pad: tuple[int, int], where: str) -> np.ndarray:
    """im2col codes [Cin*Kh*Kw, Ho*Wo] -> feature map [Cin, H, W]; every tap of every patch
    must agree with the map and the padding ring must be zero, else TraceError."""
    ph, pw = pad
    ho, wo = _out_hw(h, w, kh, kw, stride, ph, pw)
    taps = codes.reshape(cin, kh, kw, ho, wo)
    padded = np.zeros((cin, h + 2 * ph, w + 2 * pw), dtype=codes.dtype)
    seen = np.zeros(padded.shape[1:], dtype=bool)
    span_h, span_w = stride * (ho - 1) + 1, stride * (wo - 1) + 1
    for i in range(kh):                    # one pass per kernel tap (K*K of them)
        for j in range(kw):
            window = (slice(None), slice(i, i + span_h, stride), slice(j, j + span_w, stride))
            value = taps[:, i, j]
            old_seen = seen[window[1:]]
            clash = old_seen & np.any(padded[window] != value, axis=0)
            if clash.any():
                y, x = (int(v) for v in np.argwhere(clash)[0])
                raise TraceError(f"{where}: overlapping patches disagree at input pixel "
                                 f"({i + stride * y - ph}, {j + stride * x - pw}) (kernel tap "
                                 f"{i},{j}): not the im2col of one feature map with padding "
                                 f"{ph},{pw} and stride {stride}")
            padded[window] = value
            seen[window[1:]] = True
    inner = padded[:, ph:ph + h, pw:pw + w]
    ring = padded.copy()
    ring[:, ph:ph + h, pw:pw + w] = 0
    if ring.any():
        raise TraceError(f"{where}: non-zero bits in the zero padding (padding {ph},{pw}): not "
                         f"the im2col of a zero-padded feature map")
    return np.ascontiguousarray(inner)


# ----------------------------------------------------------------------------------------
# NetWork.csv and trace_command.sh
# ----------------------------------------------------------------------------------------

def read_network_csv(text: str, where: str) -> list[list[int]]:
    """NeuroSim's layer table: one row of 8 integers per compute layer."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",") if c.strip()]
        try:
            values = [int(float(c)) for c in cells]
        except ValueError:
            raise TraceError(f"{where}: row {number} is not integers: {line.strip()!r}") \
                from None
        if len(values) < 8:
            raise TraceError(f"{where}: row {number} has {len(values)} columns, need 8 (IFM_H, "
                             f"IFM_W, Cin, K_H, K_W, Cout, max-pool, stride)")
        if min(values[:6]) < 1 or values[7] < 1 or values[6] not in (0, 1):
            raise TraceError(f"{where}: row {number} has an impossible value: {values[:8]}")
        rows.append(values[:8])
    if not rows:
        raise TraceError(f"{where}: no layers")
    return rows


@dataclass
class _Command:
    network_csv: str
    wl_weight: int
    wl_activate: int
    sub_array: int
    parallel_read: int
    files: list[tuple[str, str]]       # (weight file, input file) as written
    line: str


def _parse_command(text: str, where: str) -> _Command:
    """The NeuroSim command line in trace_command.sh."""
    text = text.replace("\\\n", " ")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            continue
        idx = next((i for i, t in enumerate(tokens) if t.lower().endswith(".csv")), None)
        if idx is None or len(tokens) < idx + 5:
            continue
        try:
            numbers = [int(t) for t in tokens[idx + 1:idx + 5]]
        except ValueError:
            continue
        files = tokens[idx + 5:]
        if not files or len(files) % 2:
            raise TraceError(f"{where}: the NeuroSim command names {len(files)} files; it "
                             f"needs weight/input pairs")
        if min(numbers) < 1:
            raise TraceError(f"{where}: impossible precisions/sizes {numbers}")
        return _Command(tokens[idx], *numbers, list(zip(files[0::2], files[1::2])),
                        line.strip())
    raise TraceError(f"{where}: no NeuroSim command line (main NetWork.csv wl_weight "
                     f"wl_activate subArray parallelRead weight/input files)")


def _layer_name(weight_file: str) -> str:
    base = _plain_name(weight_file)
    stem = base[:-4] if base.lower().endswith(".csv") else base
    return stem[6:] if stem.startswith("weight") and len(stem) > 6 else stem


def _plain_name(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base[:-3] if base.endswith(".gz") else base


# ----------------------------------------------------------------------------------------
# sources: a folder, or a tar archive read as a stream
# ----------------------------------------------------------------------------------------

_DATA_RE = re.compile(r"^(weight|input).*\.csv$")
_ARCHIVE_SUFFIXES = (".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2", ".tar")


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(_ARCHIVE_SUFFIXES)


def _parse_member(name: str, stream: IO[bytes], where: str):
    if name.startswith("weight"):
        return _parse_weights(stream, where)
    return _parse_bits(stream, where)


def _open_maybe_gz(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class _Folder:
    def __init__(self, folder: Path):
        self.root = folder
        self.label = str(folder)

    def where(self, name: str) -> str:
        return str(self.root / name)

    def text(self, name: str) -> str | None:
        for candidate in (self.root / name, self.root / (name + ".gz")):
            if candidate.is_file():
                with _open_maybe_gz(candidate) as fh:
                    return fh.read().decode("utf-8", errors="replace")
        return None

    def network_csvs(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("NetWork*.csv"))

    def data(self, names: Sequence[str]) -> dict[str, Any]:
        out = {}
        for name in names:
            if name in out:
                continue
            path = next((p for p in (self.root / name, self.root / (name + ".gz"))
                         if p.is_file()), None)
            if path is None:
                raise TraceError(f"{self.root / name}: missing (listed in {TRACE_COMMAND})")
            try:
                with _open_maybe_gz(path) as fh:
                    out[name] = _parse_member(name, fh, str(path))
            except (OSError, EOFError, gzip.BadGzipFile) as err:
                raise TraceError(f"{path}: unreadable ({err})") from None
        return out


class _Archive:
    """A tar archive, read once front to back as a stream (nothing unpacked to disk): small
    text members are kept, data members parsed into compact arrays as they pass."""

    def __init__(self, path: Path):
        self.path = path
        self.label = str(path)
        self.texts: dict[str, str] = {}
        self.parsed: dict[str, Any] = {}
        self.root = ""
        try:
            with tarfile.open(path, "r|*") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    name = _plain_name(member.name)
                    where = f"{path}:{member.name}"
                    if name in self.parsed or name in self.texts:
                        raise TraceError(f"{path}: holds two members named {name!r}")
                    fh = tar.extractfile(member)
                    stream = gzip.GzipFile(fileobj=fh) if member.name.endswith(".gz") else fh
                    if _DATA_RE.match(name):
                        self.parsed[name] = _parse_member(name, stream, where)
                    elif name == TRACE_COMMAND or name == SIDECAR or (
                            name.startswith("NetWork") and name.endswith(".csv")):
                        self.texts[name] = stream.read().decode("utf-8", errors="replace")
                        if name == TRACE_COMMAND:
                            self.root = member.name.rsplit("/", 1)[0] if "/" in member.name \
                                else ""
        except (tarfile.TarError, OSError, EOFError) as err:
            raise TraceError(f"{path}: unreadable archive ({err})") from None

    def where(self, name: str) -> str:
        return f"{self.path}:{self.root + '/' if self.root else ''}{name}"

    def text(self, name: str) -> str | None:
        return self.texts.get(name)

    def network_csvs(self) -> list[str]:
        return sorted(n for n in self.texts if n.startswith("NetWork"))

    def data(self, names: Sequence[str]) -> dict[str, Any]:
        for name in names:
            if name not in self.parsed:
                raise TraceError(f"{self.where(name)}: missing (listed in {TRACE_COMMAND})")
        return {name: self.parsed[name] for name in names}


# ----------------------------------------------------------------------------------------
# read
# ----------------------------------------------------------------------------------------

def _find_network_csv(source, base: Path, command: _Command, network_csv) -> tuple[str, str]:
    """(text, where) of the NetWork csv: the argument, inside the folder/archive, at the path
    the command names (relative to the folder's parent, NeuroSim's layout), or beside it."""
    if network_csv is not None:
        path = Path(network_csv)
        if not path.is_file():
            raise TraceError(f"{path}: NetWork csv missing")
        return path.read_text(), str(path)
    wanted = _plain_name(command.network_csv)
    text = source.text(wanted)
    if text is not None:
        return text, source.where(wanted)
    inside = source.network_csvs()
    if len(inside) == 1:
        return source.text(inside[0]), source.where(inside[0])
    parent = base.parent
    for candidate in (parent / command.network_csv, parent / wanted,
                      parent / "NeuroSIM" / wanted):
        if candidate.is_file():
            return candidate.read_text(), str(candidate)
    beside = sorted(parent.glob("NetWork*.csv"))
    if len(beside) == 1:
        return beside[0].read_text(), str(beside[0])
    raise TraceError(f"{base}: no {wanted} found inside or next to it; pass network_csv=PATH "
                     f"(--network-csv)")


def _model_name(network_where: str, base: Path) -> str:
    name = Path(network_where.split(":")[-1]).name
    if name.startswith("NetWork_") and name.endswith(".csv") and len(name) > 12:
        return name[8:-4]
    stem = base.name.split(".")[0]
    return stem[len("layer_record_"):] if stem.startswith("layer_record_") else stem


def read_neurosim(folder_or_archive: str | os.PathLike, network_csv: str | os.PathLike | None
                  = None, weight_bits: int | None = None, input_bits: int | None = None
                  ) -> Trace:
    """Read a DNN+NeuroSim V1.4 ``layer_record_<model>/`` folder (files ``.csv`` or
    ``.csv.gz``) or a ``.tar.xz``/``.tar.gz`` of it into a `Trace` of one image.

    Layer order, wl_weight, wl_activate, subArray and parallelRead come from
    ``trace_command.sh``; ``weight_bits``/``input_bits`` override the two precisions. The
    layer table comes from ``network_csv`` or is found inside/next to the folder. Any missing
    file, ragged row, non-0/1 bit, off-grid weight or shape that cannot be priced raises
    `TraceError` naming the file; channel counts that disagree with the table are kept both
    ways with one `NeuroSimTableWarning` (module docstring)."""
    base = Path(folder_or_archive)
    if base.is_dir():
        source: _Folder | _Archive = _Folder(base)
    elif _is_archive(base):
        source = _Archive(base)
    elif base.exists():
        raise TraceError(f"{base}: neither a folder nor a .tar.xz/.tar.gz archive")
    else:
        raise TraceError(f"{base}: trace folder or archive does not exist")
    command_text = source.text(TRACE_COMMAND)
    if command_text is None:
        raise TraceError(f"{source.where(TRACE_COMMAND)}: missing (it gives the layer order "
                         f"and precisions)")
    command = _parse_command(command_text, source.where(TRACE_COMMAND))
    net_text, net_where = _find_network_csv(source, base, command, network_csv)
    table = read_network_csv(net_text, net_where)
    if len(table) != len(command.files):
        raise TraceError(f"{net_where}: {len(table)} layers, but {TRACE_COMMAND} names "
                         f"{len(command.files)} weight/input pairs")
    sidecar = _read_sidecar(source, len(table))
    wbits = int(weight_bits or command.wl_weight)
    xbits = int(input_bits or command.wl_activate)
    names = [_plain_name(f) for pair in command.files for f in pair]
    raw = source.data(names)
    where_of = source.where

    layers = []
    for index, (row, (w_file, x_file)) in enumerate(zip(table, command.files)):
        w_name, x_name = _plain_name(w_file), _plain_name(x_file)
        note = sidecar["layers"][index] if sidecar else None
        layers.append(_build_layer(index, len(table), row, w_name, raw[w_name], where_of(w_name),
                                   x_name, raw[x_name], where_of(x_name), wbits, xbits, note,
                                   explicit=(weight_bits is not None, input_bits is not None)))
    disagreement = _table_warning(net_where, layers)
    if disagreement:
        warnings.warn(disagreement, NeuroSimTableWarning, stacklevel=2)
    manifest: dict[str, Any] = dict(sidecar.get("manifest", {})) if sidecar else {}
    model = _model_name(net_where, base)
    manifest.setdefault("network", model)
    manifest.setdefault("config", {"weight_bits": wbits, "activation_bits": xbits,
                                   "subarray_rows": command.sub_array,
                                   "subarray_cols": command.sub_array,
                                   "rows_in_parallel": command.parallel_read})
    manifest.setdefault("config_hash", "")
    manifest.setdefault("dataset", {})
    manifest.setdefault("accuracy", {})
    manifest.update({
        "format": FORMAT_NAME,
        "images": 1,
        "layers": [layer.geometry.to_json() for layer in layers],
        "source": str(base),
        "neurosim": {"command": command.line, "network_csv": net_where,
                     "wl_weight": command.wl_weight, "wl_activate": command.wl_activate,
                     "sub_array": command.sub_array, "parallel_read": command.parallel_read,
                     "sidecar": bool(sidecar),
                     # the NetWork csv rows that disagree with the traces (geometry
                     # table_channels holds the table's, in/out_channels the trace's)
                     "table_disagreements": [
                         {"layer": layer.geometry.name,
                          "table": list(layer.geometry.table_channels),
                          "trace": [layer.geometry.in_channels, layer.geometry.out_channels]}
                         for layer in layers if layer.geometry.table_channels]},
    })
    return Trace(manifest=manifest, layers=layers)


def _read_sidecar(source, n_layers: int) -> dict[str, Any] | None:
    text = source.text(SIDECAR)
    if text is None:
        return None
    where = source.where(SIDECAR)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise TraceError(f"{where}: unreadable ({err})") from None
    if data.get("format") != SIDECAR_FORMAT or data.get("version") != SIDECAR_VERSION:
        raise TraceError(f"{where}: format {data.get('format')!r} version "
                         f"{data.get('version')!r} is not {SIDECAR_FORMAT!r} {SIDECAR_VERSION}")
    if len(data.get("layers", [])) != n_layers:
        raise TraceError(f"{where}: describes {len(data.get('layers', []))} layers, the "
                         f"NetWork csv {n_layers}")
    return data


def _build_layer(index: int, count: int, row: list[int], w_name: str, w_raw: _Weights,
                 w_where: str, x_name: str, x_bits: np.ndarray, x_where: str, wbits: int,
                 xbits: int, note: dict | None, explicit: tuple[bool, bool]) -> LayerTrace:
    h, w, table_cin, kh, kw, table_cout, pool, stride = row
    name = _layer_name(w_name)
    cin, cout = _trace_channels(index, row, w_raw.shape, x_bits.shape[0], w_where, x_where)
    if x_bits.shape[1] % xbits:
        raise TraceError(f"{x_where}: {x_bits.shape[1]} columns are not a multiple of "
                         f"wl_activate = {xbits} bits per activation")
    positions = x_bits.shape[1] // xbits
    linear = h == w == kh == kw == 1 and positions == 1 and "conv" not in name.lower()
    if note is not None:
        linear = note["geometry"]["kind"] == "linear"
    weight_codes = _weight_codes(w_raw, wbits, w_where)
    codes, signed = _bits_to_codes(x_bits, xbits)
    if linear:
        if positions != 1:
            raise TraceError(f"{x_where}: {positions} positions for a linear layer (need 1)")
        input_codes = codes[:, 0][None, :]
        weights = weight_codes.T.copy()
        pad, out_hw = (0, 0), (1, 1)
    else:
        candidates = _padding_candidates(positions, h, w, kh, kw, stride)
        if note is not None:
            wanted = tuple(note["geometry"]["padding"])
            candidates = [wanted] if wanted in candidates else []
        if not candidates:
            raise TraceError(f"{x_where}: {positions} positions fit no padding of a {kh}x{kw} "
                             f"stride-{stride} convolution on {h}x{w} (NetWork csv row "
                             f"{index + 1}: {row})")
        first_error = None
        for pad in candidates:
            try:
                fmap = _fold(codes, cin, kh, kw, h, w, stride, pad, x_where)
                break
            except TraceError as err:
                first_error = first_error or err
        else:
            raise first_error
        input_codes = fmap[None]
        out_hw = _out_hw(h, w, kh, kw, stride, *pad)
        weights = weight_codes.T.reshape(cout, cin, kh, kw).copy()
    after = ("relu", "maxpool2x2") if pool else ("relu",)
    if index == count - 1:
        after = tuple(a for a in after if a != "relu")
    geometry = dict(name=name, kind="linear" if linear else "conv2d", in_channels=cin,
                    out_channels=cout, kernel_size=(kh, kw), stride=(stride, stride),
                    padding=pad, input_hw=(h, w), output_hw=out_hw, followed_by=after,
                    weight_bits=wbits, input_bits=xbits, input_signed=signed,
                    file=f"{w_name},{x_name}",
                    table_channels=None if (table_cin, table_cout) == (cin, cout)
                    else (table_cin, table_cout))
    w_scale = x_scale = None
    if note is not None:
        geometry = _merge_note(geometry, note, explicit, x_where)
        w_scale = np.asarray(note["weight_scale"], dtype=np.float64)   # one, or per channel
        w_scale = float(w_scale) if w_scale.ndim == 0 else w_scale
        x_scale = float(note["input_scale"])
    g = LayerGeometry(**geometry)
    _check_ranges(g, weights, input_codes, w_where, x_where)
    return LayerTrace(g, weights, w_scale if w_scale is not None else 2.0 ** -(wbits - 1),
                      _narrow(input_codes), x_scale if x_scale is not None
                      else 2.0 ** -(xbits - 1))


def _trace_channels(index: int, row: list[int], w_shape: tuple[int, int], x_rows: int,
                    w_where: str, x_where: str) -> tuple[int, int]:
    """(Cin, Cout) the layer's weight and input files hold. They may disagree with its
    NetWork csv row (NeuroSim itself runs such tables: read_neurosim warns, the chip prices
    either shape); what cannot be priced is refused: weight and input files of different
    rows, or rows that are not whole kernels of the table's K_H x K_W."""
    kh, kw = row[3], row[4]
    rows, cout = w_shape
    if rows != x_rows:
        raise TraceError(f"{w_where}: {rows} weight rows, but {x_where} has {x_rows} input "
                         f"rows: the two files of a layer must hold the same unrolled rows "
                         f"(Cin*K*K), so the layer cannot be priced")
    if rows % (kh * kw):
        raise TraceError(f"{w_where}: {rows} rows are not Cin*K*K for the {kh}x{kw} kernel of "
                         f"the NetWork csv row {index + 1} ({row}), so the layer cannot be "
                         f"priced")
    return rows // (kh * kw), cout


def _table_warning(net_where: str, layers: list[LayerTrace]) -> str | None:
    """One line naming the layers whose NetWork csv channels disagree with their traces."""
    odd = [layer.geometry for layer in layers if layer.geometry.table_channels]
    if not odd:
        return None
    shapes = "; ".join(f"{g.name}: table Cin {g.table_channels[0]} Cout {g.table_channels[1]}"
                       f", trace Cin {g.in_channels} Cout {g.out_channels}" for g in odd)
    return (f"{net_where}: {len(odd)} layer(s) disagree with their weight traces ({shapes}); "
            f"compat mode (quirk neurosim_table_shape) prices the table's channels as NeuroSim "
            f"does, the missing ones holding zero weights; default mode prices the traces' "
            f"own shape")


def _merge_note(inferred: dict, note: dict, explicit: tuple[bool, bool], where: str) -> dict:
    """Take what NeuroSim's format cannot carry from the export's sidecar, after checking
    that everything the data does determine agrees with it."""
    recorded = note["geometry"]
    for key in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "input_hw",
                "output_hw"):
        if tuple(np.atleast_1d(recorded[key])) != tuple(np.atleast_1d(inferred[key])):
            raise TraceError(f"{where}: {key} {inferred[key]} from the data disagrees with "
                             f"{SIDECAR} ({recorded[key]})")
    merged = dict(inferred)
    for key in ("name", "kind", "dilation", "groups", "followed_by", "input_signed"):
        merged[key] = recorded[key]
    if not explicit[0]:
        merged["weight_bits"] = recorded["weight_bits"]
    if not explicit[1]:
        merged["input_bits"] = recorded["input_bits"]
    if inferred["input_signed"] and not recorded["input_signed"]:
        raise TraceError(f"{where}: sign bits set in a layer {SIDECAR} records as unsigned")
    return merged


def _narrow(codes: np.ndarray) -> np.ndarray:
    lo, hi = (int(codes.min()), int(codes.max())) if codes.size else (0, 0)
    return codes.astype(_int_dtype(lo, hi)) if lo < 0 else codes.astype(
        np.uint8 if hi <= 255 else np.uint16 if hi <= 65535 else np.int64)


def _check_ranges(g: LayerGeometry, weights: np.ndarray, inputs: np.ndarray, w_where: str,
                  x_where: str) -> None:
    w_lim = 2 ** (g.weight_bits - 1)
    if weights.size and (weights.min() < -w_lim or weights.max() > w_lim - 1):
        raise TraceError(f"{w_where}: weight codes [{weights.min()}, {weights.max()}] outside "
                         f"the signed {g.weight_bits}-bit range")
    lo, hi = ((-2 ** (g.input_bits - 1), 2 ** (g.input_bits - 1) - 1) if g.input_signed
              else (0, 2 ** g.input_bits - 1))
    if inputs.size and (inputs.min() < lo or inputs.max() > hi):
        raise TraceError(f"{x_where}: input codes [{inputs.min()}, {inputs.max()}] outside the "
                         f"{g.input_bits}-bit range [{lo}, {hi}]")

