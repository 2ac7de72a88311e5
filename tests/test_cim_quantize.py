"""Quantizers, bit slicing and cell conductances against hand-computed values (cim/)."""
import math

import pytest
import torch

from contracts.config import HardwareConfig
from cim import bitslice, cells
from cim.quantize import QuantSpec, fake_quant, quantize, quantize_activation, quantize_weight


def test_weight_codes_by_hand():
    # 3 bits: scale = max|w| / (2^2 - 1) = 1; round half to even (1.5 -> 2, 2.5 -> 2, 0.5 -> 0)
    codes, scale = quantize_weight(torch.tensor([1.5, -3.0, 0.5, 2.5, 0.2, -0.6, 0.0]), 3)
    assert scale == 1.0
    assert codes.tolist() == [2, -3, 0, 2, 0, -1, 0]
    # 8 bits: scale = 0.635 / 127 = 0.005; 0.1 -> 20, -0.0125 -> -2.5 -> -2
    codes, scale = quantize_weight(torch.tensor([0.635, 0.1, -0.0125, -0.635], dtype=torch.float64), 8)
    assert scale == pytest.approx(0.005)
    assert codes.tolist() == [127, 20, -2, -127]
    assert codes.dtype == torch.int32


def test_weight_codes_stay_in_signed_range():
    codes, _ = quantize_weight(torch.randn(1000), 8)
    assert codes.min() >= -128 and codes.max() <= 127
    zero, scale = quantize_weight(torch.zeros(3), 8)
    assert zero.tolist() == [0, 0, 0] and scale == 1.0


def test_activation_codes_by_hand():
    # unsigned, 2 bits, clip 3: scale 1, codes in [0, 3]
    codes, scale = quantize_activation(torch.tensor([0.4, 0.5, 1.5, 2.5, 7.0, -1.0]), 2, 3.0, False)
    assert scale == 1.0
    assert codes.tolist() == [0, 0, 2, 2, 3, 0]
    # signed, 3 bits, clip 3: scale 3/3 = 1, codes in [-4, 3]
    codes, _ = quantize_activation(torch.tensor([-5.0, -3.5, -0.5, 3.6]), 3, 3.0, True)
    assert codes.tolist() == [-4, -4, 0, 3]
    # images in [0, 1], 8 bits: code = round(x * 255)
    codes, scale = quantize_activation(torch.tensor([0.0, 1.0, 0.6, 0.2]), 8, 1.0, False)
    assert scale == pytest.approx(1 / 255)
    assert codes.tolist() == [0, 255, 153, 51]


def test_fake_quant_forward_and_clipped_ste():
    spec = QuantSpec(2, False, 1.0)
    x = torch.tensor([0.4, 1.6, 5.0, -2.0], requires_grad=True)
    y = fake_quant(x, spec)
    assert y.tolist() == quantize(x, spec).float().tolist() == [0.0, 2.0, 3.0, 0.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]   # no gradient where clipped


def test_weight_slices_by_hand():
    w = torch.tensor([[-3], [5]])
    # offset: u = w + 8 = 5 (0b0101), 13 (0b1101); 2-bit cells LSB first
    m = bitslice.slice_weights(w, 4, 2, "offset")
    assert m.levels.tolist() == [[1, 1, 0], [1, 3, 0]]     # last column: Gmin reference
    assert m.offset == 8
    assert m.decode().tolist() == [[-3.0], [5.0]]
    # differential: -3 -> G+ 0, G- 3; 5 -> G+ 5 (01|01), G- 0
    m = bitslice.slice_weights(w, 4, 2, "differential")
    assert m.levels.tolist() == [[0, 0, 3, 0], [1, 1, 0, 0]]
    assert m.decode().tolist() == [[-3.0], [5.0]]


@pytest.mark.parametrize("encoding", ["offset", "differential"])
@pytest.mark.parametrize("bits,cell_bits", [(8, 1), (8, 2), (8, 3), (6, 4), (4, 4)])
def test_mappings_decode_to_ideal_weights(encoding, bits, cell_bits):
    gen = torch.Generator().manual_seed(1)
    w = torch.randint(-(2 ** (bits - 1)), 2 ** (bits - 1), (40, 7), generator=gen)
    m = bitslice.slice_weights(w, bits, cell_bits, encoding)
    assert m.levels.min() >= 0 and m.levels.max() <= 2 ** cell_bits - 1
    slices = math.ceil(bits / cell_bits)
    assert m.columns == 7 * slices * (2 if encoding == "differential" else 1) + \
        (1 if encoding == "offset" else 0)
    assert torch.equal(m.decode(), w.double())


def test_input_planes_by_hand():
    # planes (P x R): 5 = 0b101, LSB first
    planes, spec = bitslice.input_planes(torch.tensor([5]), 3, False, "bit_serial")
    assert planes.tolist() == [[1.0], [0.0], [1.0]] and spec.weights.tolist() == [1, 2, 4]
    # -3 in 3-bit two's complement is 0b101; the MSB weighs -4
    planes, spec = bitslice.input_planes(torch.tensor([-3]), 3, True, "bit_serial")
    assert planes.tolist() == [[1.0], [0.0], [1.0]] and spec.weights.tolist() == [1, 2, -4]
    planes, spec = bitslice.input_planes(torch.tensor([51]), 8, False, "dac")
    assert planes.tolist() == [[pytest.approx(0.2)]] and spec.weights.tolist() == [255]
    planes, spec = bitslice.input_planes(torch.tensor([-64]), 8, True, "dac")
    assert planes.tolist() == [[0.0], [0.5]] and spec.weights.tolist() == [128, -128]


@pytest.mark.parametrize("encoding", ["bit_serial", "dac"])
@pytest.mark.parametrize("signed", [False, True])
def test_input_planes_reconstruct_codes(encoding, signed):
    lo, hi = (-128, 128) if signed else (0, 256)
    x = torch.arange(lo, hi).view(1, -1)
    planes, spec = bitslice.input_planes(x, 8, signed, encoding, dtype=torch.float64)
    back = (planes * spec.weights.view(-1, 1)).sum(-2)
    assert torch.allclose(back, x.double(), atol=1e-9)


def test_conductances_follow_on_off_ratio():
    rram = HardwareConfig(memory_cell="rram", cell_bits=2, weight_bits=8)
    g = cells.cell_conductance(torch.tensor([0, 1, 2, 3]), rram)
    gmin = 100e3 / 1.7e6
    assert g.tolist() == pytest.approx([gmin, gmin + (1 - gmin) / 3, gmin + 2 * (1 - gmin) / 3, 1.0])
    assert cells.read_levels(g, rram).tolist() == [0, 1, 2, 3]
    sram = HardwareConfig(memory_cell="sram", cell_bits=1)
    assert cells.cell_conductance(torch.tensor([0, 1]), sram).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError):
        cells.cell_conductance(torch.tensor([4]), rram)
