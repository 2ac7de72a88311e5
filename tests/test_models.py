"""Networks, registry and checkpoints (models/)."""
import pytest
import torch
from torch import nn

import models
from models import checkpoints

ALL = ["mlp", "lenet5", "vgg8", "resnet18-cifar", "resnet18-imagenet", "dscnn"]


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: one thread is faster and stable
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def built():
    return {name: models.build(name, seed=0) for name in ALL}


def test_names_and_specs():
    # the built-in families first, then the other files of models/ alphabetically (the two
    # torchvision networks: tests/test_cost_only.py; the transformers: test_transformers_step1)
    assert models.names() == ALL[:-1] + ["bert-base", "dscnn", "mobilenetv2", "resnet50", "vit"]
    spec = models.get_spec("vgg8")
    assert spec == models.NetworkSpec("vgg8", (3, 32, 32), 10, "cifar10", spec.description)
    assert models.get_spec("mlp").default_dataset == "mnist5k"
    assert models.get_spec("lenet5").input_shape == (1, 28, 28)
    assert models.get_spec("resnet18-imagenet").num_classes == 1000
    with pytest.raises(Exception):
        spec.name = "other"  # frozen


@pytest.mark.parametrize("call", [models.get_spec, models.build])
def test_unknown_network(call):
    with pytest.raises(ValueError, match=r"^network='alexnet' is unknown; choose from: mlp, lenet5, vgg8"):
        call("alexnet")


@pytest.mark.parametrize("name", ALL)
def test_forward_shape(built, name):
    spec = models.get_spec(name)
    with torch.no_grad():
        out = built[name](torch.rand(2, *spec.input_shape))
    assert out.shape == (2, spec.num_classes)
    assert not built[name].training  # build returns eval mode


@pytest.mark.parametrize("name", ALL)
def test_compute_layers_are_bias_free(built, name):
    layers = models.compute_layers(built[name])
    assert layers and all(m.bias is None for _, m in layers)
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in built[name].modules())
    assert has_bn == (name.startswith("resnet") or name == "dscnn")
    assert not any(getattr(m, "inplace", False) for m in built[name].modules())


def test_num_classes_override():
    assert models.build("mlp", num_classes=7)(torch.rand(2, 1, 28, 28)).shape == (2, 7)
    assert models.build("lenet5", num_classes=3)(torch.rand(2, 1, 28, 28)).shape == (2, 3)
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match=r"^num_classes="):
            models.build("mlp", num_classes=bad)
    with pytest.raises(ValueError, match=r"^seed="):
        models.build("mlp", seed=-1)


def test_build_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = models.build("lenet5", seed=5)
    assert torch.equal(torch.rand(3), expected)
    b = models.build("lenet5", seed=5)
    c = models.build("lenet5", seed=6)
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.features[0].weight, c.features[0].weight)


def _geometry(model, input_shape):
    """Rows of NeuroSim's NetWork.csv: IFM_H, IFM_W, Cin, K_H, K_W, Cout, pool-follows, stride."""
    rows, order = [], []

    def hook(mod, inp, out):
        x = inp[0]
        if isinstance(mod, nn.Conv2d):
            rows.append([x.shape[2], x.shape[3], mod.in_channels, *mod.kernel_size, mod.out_channels, 0,
                         mod.stride[0]])
        elif isinstance(mod, nn.Linear):
            rows.append([1, 1, mod.in_features, 1, 1, mod.out_features, 0, 1])
        order.append(mod)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d))]
    with torch.no_grad():
        model(torch.rand(1, *input_shape))
    for h in handles:
        h.remove()
    # mark a compute layer as followed by max pooling when a pool comes next
    compute = [m for m in order if not isinstance(m, nn.MaxPool2d)]
    for i, m in enumerate(order[:-1]):
        if isinstance(order[i + 1], nn.MaxPool2d) and not isinstance(m, nn.MaxPool2d):
            rows[compute.index(m)][6] = 1
    return rows


def test_vgg8_matches_neurosim_network_csv(built):
    # DNN+NeuroSim V1.4 NetWork_VGG8.csv
    neurosim = [
        [32, 32, 3, 3, 3, 128, 0, 1], [32, 32, 128, 3, 3, 128, 1, 1],
        [16, 16, 128, 3, 3, 256, 0, 1], [16, 16, 256, 3, 3, 256, 1, 1],
        [8, 8, 256, 3, 3, 512, 0, 1], [8, 8, 512, 3, 3, 512, 1, 1],
        [1, 1, 8192, 1, 1, 1024, 0, 1], [1, 1, 1024, 1, 1, 10, 0, 1],
    ]
    assert _geometry(built["vgg8"], (3, 32, 32)) == neurosim
    assert all(m.padding == (1, 1) for _, m in models.compute_layers(built["vgg8"])[:6])


def test_lenet5_and_mlp_geometry(built):
    assert _geometry(built["lenet5"], (1, 28, 28)) == [
        [28, 28, 1, 5, 5, 6, 1, 1], [14, 14, 6, 5, 5, 16, 1, 1],
        [1, 1, 400, 1, 1, 120, 0, 1], [1, 1, 120, 1, 1, 84, 0, 1], [1, 1, 84, 1, 1, 10, 0, 1]]
    assert _geometry(built["mlp"], (1, 28, 28)) == [[1, 1, 784, 1, 1, 128, 0, 1], [1, 1, 128, 1, 1, 10, 0, 1]]


@pytest.mark.parametrize("name,stem_k,first_fm", [("resnet18-cifar", 3, 32), ("resnet18-imagenet", 7, 56)])
def test_resnet18_structure(built, name, stem_k, first_fm):
    model = built[name]
    layers = models.compute_layers(model)
    convs = [m for _, m in layers if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20 and isinstance(layers[-1][1], nn.Linear)  # 17 + 3 downsample, then fc
    assert convs[0].kernel_size == (stem_k, stem_k)
    shortcuts = [m for n, m in layers if "downsample" in n]
    assert [(m.kernel_size, m.stride, m.out_channels) for m in shortcuts] == [
        ((1, 1), (2, 2), 128), ((1, 1), (2, 2), 256), ((1, 1), (2, 2), 512)]
    has_pool = any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert has_pool == (name == "resnet18-imagenet")
    spec = models.get_spec(name)
    rows = _geometry(model, spec.input_shape)
    assert rows[1][:2] == [first_fm, first_fm]  # first block's input feature map


# ------------------------------------------------------------------ checkpoints

def test_default_checkpoint_path():
    p = checkpoints.default_checkpoint_path("vgg8", "cifar10")
    assert p.name == "vgg8-cifar10.pt" and p.parent.name == "checkpoints" and p.parent.parent.name == "models"
    with pytest.raises(ValueError, match="network='nope' is unknown"):
        checkpoints.default_checkpoint_path("nope", "cifar10")
    for bad in ("../x", "", "a/b"):
        with pytest.raises(ValueError, match=r"^dataset="):
            checkpoints.default_checkpoint_path("mlp", bad)


def test_checkpoint_round_trip(tmp_path):
    src = models.build("resnet18-cifar", seed=1)
    with torch.no_grad():
        src(torch.rand(2, 3, 32, 32))  # eval: buffers unchanged; set some by hand
        src.stem[1].running_mean.fill_(0.25)
    meta = {"dataset": "cifar10", "accuracy": 0.9, "epochs": 3, "notes": ["a", None]}
    path = checkpoints.save_checkpoint(src, tmp_path / "sub" / "r.pt", meta)
    assert path == tmp_path / "sub" / "r.pt" and sorted(p.name for p in path.parent.iterdir()) == ["r.pt"]
    dst = models.build("resnet18-cifar", seed=2)
    assert checkpoints.load_checkpoint(dst, path) == meta
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), k


def test_checkpoint_bare_state_dict(tmp_path):
    src = models.build("mlp", seed=3)
    torch.save(src.state_dict(), tmp_path / "bare.pt")
    dst = models.build("mlp", seed=4)
    assert checkpoints.load_checkpoint(dst, tmp_path / "bare.pt") == {}
    assert torch.equal(dst[1].weight, src[1].weight)


def test_checkpoint_mismatch_errors(tmp_path):
    path = checkpoints.save_checkpoint(models.build("mlp", num_classes=5), tmp_path / "m.pt", {})
    target = models.build("mlp")
    before = target[1].weight.clone()
    with pytest.raises(ValueError, match=r"m\.pt does not fit the network: '3\.weight' has shape \(5, 128\) "
                                         r"in the checkpoint but \(10, 128\) in the network"):
        checkpoints.load_checkpoint(target, path)
    assert torch.equal(target[1].weight, before)  # nothing loaded on failure
    with pytest.raises(ValueError, match=r"m\.pt does not fit the network: 'features\.0\.weight' .* missing"):
        checkpoints.load_checkpoint(models.build("lenet5"), path)
    extra = nn.Sequential(nn.Flatten(), nn.Linear(784, 128, bias=False), nn.ReLU(), nn.Linear(128, 10, bias=True))
    checkpoints.save_checkpoint(extra, tmp_path / "e.pt", {})
    with pytest.raises(ValueError, match=r"e\.pt does not fit the network: it has '3\.bias'"):
        checkpoints.load_checkpoint(models.build("mlp"), tmp_path / "e.pt")


def test_checkpoint_file_errors(tmp_path):
    model = models.build("mlp")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        checkpoints.load_checkpoint(model, tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt is not a checkpoint this tool can read"):
        checkpoints.load_checkpoint(model, tmp_path / "junk.pt")
    torch.save({"format": "neuropysim-checkpoint", "version": 99, "state_dict": {}, "meta": {}}, tmp_path / "v.pt")
    with pytest.raises(ValueError, match=r"v\.pt has version 99"):
        checkpoints.load_checkpoint(model, tmp_path / "v.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list\.pt holds no state_dict"):
        checkpoints.load_checkpoint(model, tmp_path / "list.pt")
    with pytest.raises(ValueError, match="meta is not JSON-serialisable"):
        checkpoints.save_checkpoint(model, tmp_path / "x.pt", {"t": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"^meta="):
        checkpoints.save_checkpoint(model, tmp_path / "x.pt", None)
    assert not (tmp_path / "x.pt").exists()
