"""Attention's activation x activation products (Q.K^T and A.V): the dynamic-matmul layer.

A :class:`DynamicMatmul` replaces one ``torch.matmul`` / ``@`` / ``torch.bmm`` of two
activations found by the torch.fx walk (cim.convert). Its operands, in the trace contract's
names (contracts.trace.LayerGeometry, kind ``dynamic_matmul``):

* ``x``, the "input" operand (N, H, M, K): Q, or the attention probabilities A; quantized on
  the activation grid (``activation_bits``), signed when it can be negative (Q), unsigned
  otherwise (A, a softmax output);
* ``w``, the "weight" operand (N, H, K, N_out): K^T, or V; a new one for every input, quantized
  to ``weight_bits`` signed codes with ONE per-layer scale (a clip value calibrated like an
  activation's: the largest |w| on the calibration images, or the running maximum of QAT).

Three-dimensional operands (N, M, K) are one head (H = 1). The first dimension is the image:
a ``torch.bmm`` over a merged (images x heads) batch is recorded as if each entry were an image.

Modes as cim.layers.CIMLayer: ``float``, ``calibrate``, ``quant`` (codes, exact product),
``qat`` (fake-quantized operands) and ``hw``, whose product depends on
``config.dynamic_matmul_policy``:

* ``digital``: a digital MAC unit multiplies the integer codes exactly: the quantized result;
* ``crossbar``: the weight operand is WRITTEN into cells for every input and read through the
  crossbar model of the static layers (cim.crossbar: bit slicing, cells, sequential or
  parallel read, ADC). Heads are the groups of a grouped layer (cim.grouped): head h's
  K x N_out block is its own array, read by head h's M input vectors. The write applies the
  programming error (``programming_error_*``), drawn afresh at every write; read noise, IR
  drop and the ADC's effects apply at the read as for static layers. Not applied to written
  cells (ours): relaxation and drift (the cells are read right after they are written),
  stuck-at faults and device-to-device variation (properties of physical cells, which stay
  the same across writes; drawing them per write would make them a second write error).
  With no read noise in sequential mode, the written levels of a whole batch are programmed
  as one array and multiplied exactly (the sense amplifiers' levels, as Crossbar does); every
  other case programs one grouped array per image. A calibrated ADC range is one per layer,
  calibrated on the ADC calibration images' reads (cim.passes.program).
"""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from .crossbar import Crossbar
from .grouped import make_crossbar
from .quantize import QuantSpec, activation_scale, fake_quant, quantize, weight_scale
from .workers import one_op_thread

__all__ = ["DynamicMatmul", "dynamic_config", "QAT_MOMENTUM"]

#: momentum of the running clip values during quantization-aware training (as cim.layers)
QAT_MOMENTUM = 0.9


def dynamic_config(config):
    """The config the written cells see: the write error only (module docstring)."""
    return config.replace(relaxation_sigma=0.0, drift_model="none", drift_time_s=0.0,
                          stuck_at_fault_rate=0.0, d2d_variation_sigma=0.0)


def _as_heads(t: torch.Tensor, what: str, name: str) -> torch.Tensor:
    """(N, M, K) -> (N, 1, M, K); (N, H, M, K) unchanged; anything else is refused."""
    if t.dim() == 3:
        return t.unsqueeze(1)
    if t.dim() == 4:
        return t
    raise ValueError(f"dynamic product {name!r}: {what} operand of shape {tuple(t.shape)}; "
                     f"activation x activation products need (images, M, K) or "
                     f"(images, heads, M, K) operands")


class DynamicMatmul(nn.Module):
    """``x @ w`` of two activations computed as the chip would (module docstring)."""

    kind = "dynamic_matmul"
    fixed = None                      # never an imported integer model's layer
    is_image_input = False
    crossbar = None                   # no static array (cim.passes.layer_statistics skips it)

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.mode = "float"
        self.config = None
        self.amax, self.amin = 0.0, 0.0   # clip value and smallest value of the input operand
        self.signed: bool | None = None
        self.wmax = 0.0                   # clip value of the weight operand (one scale)
        self.calibrate_adc = False
        self.record_limit = 0
        self.recorded: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.heads, self.m, self.k, self.n = 1, 1, 1, 1
        self.calls = 0
        self.generator: torch.Generator | None = None
        self.adc_range: torch.Tensor | None = None
        self._observed = SimpleNamespace(observed_max=0.0, observed_hist=None, config=None)

    # -- grids ----------------------------------------------------------------------------
    def input_signed(self) -> bool:
        return self.signed if self.signed is not None else self.amin < 0

    def act_spec(self) -> QuantSpec:
        bits, signed = self.config.activation_bits, self.input_signed()
        return QuantSpec(bits, signed, activation_scale(max(self.amax, -self.amin), bits,
                                                        signed))

    def weight_spec(self) -> QuantSpec:
        bits = self.config.weight_bits
        return QuantSpec(bits, True, weight_scale(torch.tensor([self.wmax]), bits))

    def clip_values(self) -> list[float]:
        """What a checkpoint stores: [amax, amin, wmax] (cim.passes.calibrate_activations)."""
        return [float(self.amax), float(self.amin), float(self.wmax)]

    def program(self, config, generator: torch.Generator | None = None) -> None:
        """Nothing is programmed ahead: keep the config and a seeded stream for the writes."""
        self.config = config
        seed = 0 if generator is None else int(torch.randint(0, 2 ** 62, (1,),
                                                             generator=generator))
        self.generator = torch.Generator().manual_seed(seed)

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.mode == "float":
            return torch.matmul(x, w)
        if self.mode == "calibrate":
            self._observe(x, w)
            return torch.matmul(x, w)
        if self.mode == "qat":
            return self._qat(x, w)
        shape = torch.broadcast_shapes(x.shape[:-2], w.shape[:-2])
        xh, wh = _as_heads(x, "input", self.name), _as_heads(w, "weight", self.name)
        if xh.shape[:2] != wh.shape[:2]:
            raise ValueError(f"dynamic product {self.name!r}: operands {tuple(x.shape)} and "
                             f"{tuple(w.shape)} must have the same images and heads")
        self._shapes(xh, wh)
        xspec, wspec = self.act_spec(), self.weight_spec()
        xc, wc = quantize(xh, xspec), quantize(wh, wspec)
        self._record(xc, wc)
        if self.mode == "quant" or (self.mode == "hw" and
                                    self.config.dynamic_matmul_policy == "digital"):
            y = torch.matmul(xc.to(torch.float64), wc.to(torch.float64))   # exact integers
        elif self.mode == "hw":
            y = self._crossbar(xc, wc, xspec.signed)
        else:
            raise ValueError(f"mode={self.mode!r} is not one of float, calibrate, quant, hw, "
                             f"qat")
        y = (y * (xspec.scale * wspec.scale)).to(x.dtype)
        return y.reshape(*shape, self.m, self.n)

    def _shapes(self, xh: torch.Tensor, wh: torch.Tensor) -> None:
        self.heads, self.m, self.k = (int(v) for v in xh.shape[1:])
        self.n = int(wh.shape[-1])

    def _observe(self, x: torch.Tensor, w: torch.Tensor) -> None:
        self._shapes(_as_heads(x, "input", self.name), _as_heads(w, "weight", self.name))
        self.amax = max(self.amax, float(x.detach().max()))
        self.amin = min(self.amin, float(x.detach().min()))
        self.wmax = max(self.wmax, float(w.detach().abs().max()))

    def _qat(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.training:
            # running clip values: exponential average of the batch maxima (as cim.layers)
            for attr, value in (("amax", float(x.detach().abs().max())),
                                ("wmax", float(w.detach().abs().max()))):
                old = getattr(self, attr)
                setattr(self, attr, value if old == 0 else
                        QAT_MOMENTUM * old + (1 - QAT_MOMENTUM) * value)
            self.amin = min(self.amin, float(x.detach().min()))
        return torch.matmul(fake_quant(x, self.act_spec()), fake_quant(w, self.weight_spec()))

    def _record(self, xc: torch.Tensor, wc: torch.Tensor) -> None:
        have = sum(int(t[0].shape[0]) for t in self.recorded)
        if have < self.record_limit:
            take = self.record_limit - have
            self.recorded.append((_small(xc[:take]), _small(wc[:take])))

    def keep_operands(self, x: torch.Tensor, w: torch.Tensor) -> None:
        """Cost-only recording (cim.cost_only): the operands as floats while calibrating (to be
        quantized by :meth:`quantize_kept`), else their codes."""
        have = sum(int(t[0].shape[0]) for t in self.recorded)
        if have >= self.record_limit:
            return
        take = self.record_limit - have
        xh, wh = _as_heads(x, "input", self.name), _as_heads(w, "weight", self.name)
        self._shapes(xh, wh)
        if self.mode == "calibrate":
            self.recorded.append((xh[:take].clone(), wh[:take].clone()))
        else:
            self.recorded.append((_small(quantize(xh[:take], self.act_spec())),
                                  _small(quantize(wh[:take], self.weight_spec()))))

    def quantize_kept(self) -> None:
        """The float operands kept while calibrating, as codes on the final grids."""
        xs, ws = (torch.cat([t[i] for t in self.recorded]) for i in (0, 1))
        self.recorded = [(_small(quantize(xs, self.act_spec())),
                          _small(quantize(ws, self.weight_spec())))]

    # -- the crossbar policy ------------------------------------------------------------------
    def _crossbar(self, xc: torch.Tensor, wc: torch.Tensor, signed: bool) -> torch.Tensor:
        """Integer-product outputs (float64, N x H x M x N_out) read from written cells."""
        cfg = dynamic_config(self.config)
        bits = cfg.activation_bits
        with one_op_thread():            # many small operations (cim.workers)
            if cfg.operation_mode == "sequential" and cfg.read_noise_sigma == 0:
                return self._batch_written(xc, wc, cfg)
            outs = []
            for xi, wi in zip(xc, wc):                       # one write per image
                xb = make_crossbar(_block_matrix(wi), self.heads, cfg, self.generator)
                rows = xi.permute(1, 0, 2).reshape(self.m, self.heads * self.k)
                if not xb.parallel:
                    out = xb.matmul(rows, bits, signed)
                elif self.calibrate_adc:
                    xb.matmul(rows, bits, signed, observe=True)
                    self._merge_observed(xb)
                    out = rows.to(torch.float64) @ torch.block_diag(
                        *wi.to(torch.float64).unbind(0))
                else:
                    xb.set_adc(bits, signed, self.adc_range)
                    out = xb.matmul(rows, bits, signed)
                outs.append(out.view(self.m, self.heads, self.n).transpose(0, 1))
            return torch.stack(outs)

    def _batch_written(self, xc: torch.Tensor, wc: torch.Tensor, cfg) -> torch.Tensor:
        """Sequential read without read noise: the levels the sense amplifiers read, of every
        image's and head's written block at once (one array of K rows), times the inputs."""
        images, heads, k, n = (int(v) for v in wc.shape)
        matrix = wc.permute(2, 0, 1, 3).reshape(k, images * heads * n)
        xb = Crossbar(matrix, cfg, self.generator)
        levels = xb.effective_codes.view(k, images, heads, n).permute(1, 2, 0, 3)
        return torch.matmul(xc.to(torch.float64), levels)

    def _merge_observed(self, xb) -> None:
        seen = self._observed
        seen.config = xb.config
        seen.observed_max = max(seen.observed_max, xb.observed_max)
        hist = xb.observed_hist
        if hist is not None:
            seen.observed_hist = hist if seen.observed_hist is None else seen.observed_hist + hist

    def begin_adc_calibration(self) -> None:
        self._observed = SimpleNamespace(observed_max=0.0, observed_hist=None, config=None)
        self.calibrate_adc = True

    def end_adc_calibration(self) -> None:
        """One ADC range for the layer's written arrays, from all reads observed (Crossbar's
        quantile rule); None (full scale) when no read was observed."""
        self.calibrate_adc = False
        seen = self._observed
        self.adc_range = (Crossbar.calibrated_range(seen, self.config.activation_bits,
                                                    self.input_signed())
                          if seen.config is not None else None)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, kind={self.kind}, mode={self.mode}"


def _block_matrix(w: torch.Tensor) -> torch.Tensor:
    """One image's weight operand (H, K, N) as a grouped layer's matrix K x (H*N)."""
    heads, k, n = (int(v) for v in w.shape)
    return w.permute(1, 0, 2).reshape(k, heads * n)


def _small(codes: torch.Tensor) -> torch.Tensor:
    """Codes in int8 when they fit (recorded codes are kept for the trace: less memory)."""
    if codes.numel() and int(codes.min()) >= -128 and int(codes.max()) <= 127:
        return codes.to(torch.int8)
    return codes.to(torch.int16) if codes.numel() and int(codes.abs().max()) < 32768 \
        else codes
