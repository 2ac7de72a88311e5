"""Step-1 layer kinds: grouped / depthwise convolutions (one crossbar per weight block), Conv1d
(a conv2d of height 1), per-channel weight scales and activation zero points (cim.fixed_quant)."""
import pytest
import torch
from torch import nn

from cim.convert import convert, set_mode
from cim.fixed_quant import FixedQuantization
from cim.grouped import GroupedCrossbar
from cim.run import run
from contracts.config import HardwareConfig
from contracts.trace import read_trace

PARALLEL = HardwareConfig(operation_mode="parallel", adc_bits=8, rows_in_parallel=16,
                          adc_range="full_scale")


def _programmed(layer_module, cfg, x, calib=None):
    """The converted one-layer model, its CIMLayer programmed for ``cfg``."""
    model = nn.Sequential(layer_module, nn.ReLU())
    cim, analysis = convert(model)
    layer = cim[0]
    layer.config = cfg
    layer.is_image_input = True
    layer.program(cfg, torch.Generator().manual_seed(0))
    return cim, layer


@pytest.mark.parametrize("cfg", [HardwareConfig(), PARALLEL], ids=["sequential", "parallel"])
def test_depthwise_conv_on_ideal_crossbars_equals_the_integer_product(cfg):
    torch.manual_seed(0)
    dw = nn.Conv2d(4, 8, 3, padding=1, groups=4, bias=False)      # depth multiplier 2
    x = torch.rand(3, 4, 6, 6)
    cim, layer = _programmed(dw, cfg, x)
    assert isinstance(layer.crossbar, GroupedCrossbar) and len(layer.crossbar.parts) == 4
    # each block: 4/4 input channels x 3 x 3 = 9 rows, 8/4 = 2 outputs
    assert all((p.rows, p.outputs) == (9, 2) for p in layer.crossbar.parts)
    set_mode(cim, "quant")
    expected = cim(x)
    set_mode(cim, "hw")
    assert torch.allclose(cim(x), expected, atol=1e-5)
    # by hand: output channel 5 is group 2's second filter, reading input channel 2 only
    codes, scale = layer.weight_codes()
    xq = torch.round(x * 255)
    by_hand = torch.nn.functional.conv2d(xq[:, 2:3], codes[5:6].double().float(), padding=1)
    assert torch.allclose(expected[:, 5:6], torch.relu(by_hand * scale / 255), atol=1e-5)


def test_grouped_statistics_add_the_blocks():
    conv = nn.Conv2d(6, 6, 3, groups=3, bias=False)
    _, layer = _programmed(conv, HardwareConfig(), torch.rand(1, 6, 5, 5))
    stats = layer.crossbar.statistics()
    # 3 blocks of 18 rows x 2 outputs x 8 one-bit cells (a sequential read holds no offset
    # reference column), each block in its own 128 x 128 subarray
    assert stats["cells_used"] == 3 * 18 * 2 * 8 and stats["subarrays"] == 3
    assert stats["utilization"] == pytest.approx(stats["cells_used"] / (3 * 128 * 128))


def test_conv1d_is_a_conv2d_of_height_one_in_the_trace(tmp_path):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv1d(2, 4, 5, padding=2, groups=2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 16, 3))
    result = run(PARALLEL, network=net, dataset="synthetic", input_shape=(2, 16), images=2,
                 trace_dir=tmp_path / "t")
    g = read_trace(tmp_path / "t").layers[0]
    assert (g.geometry.kind, g.geometry.kernel_size, g.geometry.padding) == \
        ("conv2d", (1, 5), (0, 2))
    assert g.geometry.groups == 2 and g.weight_codes.shape == (4, 1, 1, 5)
    assert g.input_codes.shape == (2, 2, 1, 16) and g.geometry.output_hw == (1, 16)
    assert result.layers[0]["macs"] == 5 * 4 * 16
    # hardware in the loop equals the quantized software result (ideal devices)
    cim, _ = convert(net)
    for layer in cim.modules():
        if hasattr(layer, "program"):
            layer.config = PARALLEL
            layer.amax = 4.0
            layer.program(PARALLEL)
    x = torch.rand(2, 2, 16)
    set_mode(cim, "quant")
    want = cim(x)
    set_mode(cim, "hw")
    assert torch.allclose(cim(x), want, atol=1e-5)


def _fixed_conv(zero_point: int):
    """A conv with imported codes, two per-channel scales and input zero point."""
    conv = nn.Conv2d(2, 2, 3, padding=1, bias=True)
    codes = torch.tensor([[[[1, -2, 3], [0, 5, -6], [7, 0, -1]]] * 2,
                          [[[-4, 0, 2], [1, 1, 1], [0, -3, 127]]] * 2], dtype=torch.int32)
    scale = torch.tensor([0.01, 0.002], dtype=torch.float64)
    conv.weight.data = (codes.double() * scale.view(-1, 1, 1, 1)).float()
    conv.bias.data = torch.tensor([0.5, -0.25])
    conv.cim_quantization = FixedQuantization(codes, scale, 0.05, zero_point)
    return conv, codes, scale


@pytest.mark.parametrize("cfg", [HardwareConfig(), PARALLEL], ids=["sequential", "parallel"])
def test_zero_point_is_corrected_exactly_by_a_digital_bias_term(cfg):
    conv, codes, scale = _fixed_conv(zero_point=-20)
    q = torch.randint(-128, 128, (2, 2, 4, 4), generator=torch.Generator().manual_seed(2))
    x = (q + 20).float() * 0.05                      # real inputs exactly on the grid
    cim, layer = _programmed(conv, cfg, x)
    set_mode(cim, "hw")
    got = cim[0](x)
    # by hand: sum over in-bounds positions of (q - z) w, times s_x s_w[c], plus bias
    acc = torch.nn.functional.conv2d((q + 20).double(), codes.double(), padding=1)
    want = acc * 0.05 * scale.view(1, -1, 1, 1) + torch.tensor([0.5, -0.25]).view(1, -1, 1, 1)
    assert torch.allclose(got.double(), want, atol=1e-5)
    # the array itself was driven with the codes as they are (signed int8), not q - z
    assert layer.act_spec().zero_point == -20 and layer.input_signed()


def test_imported_codes_are_never_requantized():
    conv, codes, _ = _fixed_conv(zero_point=0)
    _, layer = _programmed(conv, HardwareConfig(), None)
    assert torch.equal(layer.weight_codes()[0], codes)
    with pytest.raises(ValueError, match=r"^weight_bits=4 cannot hold layer '0'.s imported "
                                         r"8-bit codes as they are"):
        layer.program(HardwareConfig(weight_bits=4))
    with pytest.raises(ValueError, match=r"^activation_bits=6 cannot hold"):
        layer.program(HardwareConfig(activation_bits=6))
