"""chip.mapping: floorplan search, duplication, pipeline speed-up, counting conventions."""
import pytest

from contracts.config import HardwareConfig
from chip.mapping import map_network, pipeline_speedups, row_groups
from contracts.presets import preset
from chip.synthetic import geometries_from_network_csv, resnet18_imagenet_geometries, vgg8_cifar_geometries

from conftest import shared_path

VGG8_CSV_ROWS = [
    [32, 32, 3, 3, 3, 128, 0, 1], [32, 32, 128, 3, 3, 128, 1, 1], [16, 16, 128, 3, 3, 256, 0, 1],
    [16, 16, 256, 3, 3, 256, 1, 1], [8, 8, 256, 3, 3, 512, 0, 1], [8, 8, 512, 3, 3, 512, 1, 1],
    [1, 1, 8192, 1, 1, 1024, 0, 1], [1, 1, 1024, 1, 1, 10, 0, 1]]


def _check_neurosim_vgg8_floorplan(m):
    # DNN+NeuroSim V1.4's printed floorplan for VGG-8 at its defaults
    # (../shared/neurosim-vgg8/neurosim-1.4-default-output.txt)
    assert m.cm_tile_cells == (1024, 1024)
    assert m.cm_pe_cells == (512, 512)
    assert m.nm_pes_per_tile == 9 and m.nm_pe_cells == (512, 512)
    assert [l.tiles for l in m.layers] == [2, 8, 4, 8, 8, 8, 64, 1]
    assert [l.speedup for l in m.layers] == [16, 16, 4, 4, 2, 1, 1, 8]
    util = [l.utilization for l in m.layers]
    assert util[0] == pytest.approx(0.210938, abs=1e-6)
    assert util[1:7] == pytest.approx([1.0] * 6)
    assert util[7] == pytest.approx(0.625)
    assert m.utilization * 100 == pytest.approx(98.1038, abs=1e-4)
    assert m.ops_per_image == 1_231_835_136      # NeuroSim's numComputation (input size)
    assert m.speedup_degree == 4                 # 8 capped at maxIFM/minIFM = 32/8


def test_vgg8_floorplan_compat_reproduces_neurosim():
    cfg = preset("neurosim-1.4-default").replace(compat="neurosim-1.4")
    m = map_network(geometries_from_network_csv(VGG8_CSV_ROWS), cfg)
    _check_neurosim_vgg8_floorplan(m)
    # padding ignored: (32-3+1)^2 = 900 input vectors for a 32x32 'same' conv
    assert [l.input_vectors for l in m.layers][:2] == [900, 900]


def test_vgg8_floorplan_from_shared_network_csv():
    path = shared_path("neurosim-vgg8", "NetWork_VGG8.csv")
    cfg = preset("neurosim-1.4-default").replace(compat="neurosim-1.4")
    _check_neurosim_vgg8_floorplan(map_network(geometries_from_network_csv(path), cfg))


def test_vgg8_ours_counts_padding_and_output_ops():
    m = map_network(vgg8_cifar_geometries(), preset("neurosim-1.4-default"))
    assert [l.input_vectors for l in m.layers] == [1024, 1024, 256, 256, 64, 64, 1, 1]
    g = vgg8_cifar_geometries()
    assert m.ops_per_image == sum(2 * x.macs for x in g)
    # square subarrays: the same floorplan as NeuroSim
    assert [l.tiles for l in m.layers] == [2, 8, 4, 8, 8, 8, 64, 1]


def test_ops_differ_for_strided_layers():
    g = resnet18_imagenet_geometries()
    ours = map_network(g, HardwareConfig())
    compat = map_network(g, HardwareConfig(compat="neurosim-1.4"))
    # the 7x7/2 stem: NeuroSim counts 224*224 positions, the conv computes 112*112
    assert compat.layers[0].ops == 4 * ours.layers[0].ops
    assert ours.layers[0].input_vectors == 112 * 112


def test_larger_subarray_fewer_arrays():
    g = vgg8_cifar_geometries()
    small = map_network(g, HardwareConfig(subarray_rows=64, subarray_cols=64, rows_in_parallel=64))
    big = map_network(g, HardwareConfig(subarray_rows=256, subarray_cols=256, rows_in_parallel=128))
    n_small = sum(l.weight_subarrays for l in small.layers)
    n_big = sum(l.weight_subarrays for l in big.layers)
    assert n_big < n_small


def test_non_square_subarrays():
    g = vgg8_cifar_geometries()
    m = map_network(g, HardwareConfig(subarray_rows=64, subarray_cols=256, rows_in_parallel=64,
                                      cols_per_adc=8))
    for l in m.layers:
        assert l.pe_rows_cells % 64 == 0 and l.pe_cols_cells % 256 == 0
        # every weight cell has a place: subarrays per copy cover the matrix
        assert l.weight_subarrays * 64 * 256 >= l.weight_rows * l.weight_cols
        assert 0 < l.utilization <= 1.0 + 1e-12


def test_row_groups_novel_and_conventional():
    g = vgg8_cifar_geometries()[1]
    conv = row_groups(g, novel=False)
    assert len(conv) == 1 and conv[0].tolist() == list(range(g.rows))
    nm = row_groups(g, novel=True)
    assert len(nm) == 9 and all(len(r) == 128 for r in nm)
    assert nm[4][:3].tolist() == [4, 13, 22]          # c*K*K + k
    assert sorted(int(i) for r in nm for i in r) == list(range(g.rows))


def test_layer_by_layer_no_replication():
    cfg = HardwareConfig(pipeline=False)
    sp, degree = pipeline_speedups(vgg8_cifar_geometries(), cfg)
    assert sp == [1] * 8 and degree == 1
    m = map_network(vgg8_cifar_geometries(), cfg)
    piped = map_network(vgg8_cifar_geometries(), HardwareConfig())
    assert m.num_tiles <= piped.num_tiles
    assert all(0 < l.utilization <= 1 for l in m.layers)


def test_resnet18_maps():
    m = map_network(resnet18_imagenet_geometries(), preset("neurosim-1.4-default"))
    assert len(m.layers) == 21
    assert m.num_tiles > 0 and 0 < m.utilization <= 1
    assert any(l.novel for l in m.layers) and not m.layers[-1].novel


def test_neurosim_vector_count_is_one_rule_in_mapping_and_activity():
    """7x7 input, 3x3 kernel, stride 2: NeuroSim's C++ (H-K+1)/s*(W-K+1)/s = 5 vectors, and
    the activity model consumes exactly the vectors the mapping counts."""
    import numpy as np

    from chip.activity import input_bit_vectors
    from chip.mapping import neurosim_input_vectors
    from contracts.trace import LayerGeometry, LayerTrace
    g = LayerGeometry(name="c", kind="conv2d", in_channels=2, out_channels=3,
                      kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), input_hw=(7, 7),
                      output_hw=(4, 4))
    assert neurosim_input_vectors(g) == 5
    cfg = HardwareConfig(compat="neurosim-1.4")
    mapped = map_network([g], cfg).layers[0].input_vectors
    layer = LayerTrace(g, np.zeros(g.weight_shape, dtype=np.int8), 1 / 128,
                       np.ones(g.input_shape(1), dtype=np.uint8), 1 / 255)
    consumed = input_bit_vectors(layer, cfg, neurosim=True).shape[1] // g.input_bits
    assert mapped == consumed == 5
    assert map_network([g], HardwareConfig()).layers[0].input_vectors == 16
