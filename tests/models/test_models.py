"""Registry, model contract (64x64 CPU), checkpoint I/O and strict loading of the released weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lesps_deploy.errors import CheckpointError, ModelError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import (
    DNANet,
    create_model,
    detect_model,
    list_models,
    load_checkpoint,
    pad_multiple_of,
    save_checkpoint,
    sha256_file,
    training_options,
)

MODELS = list_models()
# Totals of the released state_dicts (DNANet: ../shared/golden/dnanet_state_dict_shapes.json).
PARAM_COUNTS = {"ACM": 397_823, "ALCNet": 519_889, "DNANet": 4_696_568}
OFFICIAL = {
    "ACM_LESPS_centroid": ("ACM", "centroid"),
    "ACM_LESPS_coarse": ("ACM", "coarse"),
    "ACM_full": ("ACM", "full"),
    "ALCNet_LESPS_centroid": ("ALCNet", "centroid"),
    "ALCNet_full": ("ALCNet", "full"),
}


def _randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial running statistics, so eval outputs depend on every buffer."""
    gen = torch.Generator().manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=gen) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
    return model


@pytest.fixture(scope="module", params=MODELS)
def named_model(request: pytest.FixtureRequest) -> tuple[str, torch.nn.Module]:
    torch.manual_seed(0)
    return request.param, _randomize_bn(create_model(request.param)).eval()


def test_registry_lists_the_three_models() -> None:
    assert MODELS == ["ACM", "ALCNet", "DNANet"]


def test_create_model_is_case_insensitive_and_lists_names_on_error() -> None:
    assert isinstance(create_model("dnanet"), DNANet)
    with pytest.raises(ModelError, match="valid names: ACM, ALCNet, DNANet"):
        create_model("UNet")
    with pytest.raises(ModelError, match="bad options"):
        create_model("ACM", depth=3)


@torch.no_grad()
def test_forward_contract(named_model: tuple[str, torch.nn.Module]) -> None:
    _, model = named_model
    y = model(torch.randn(2, 1, 64, 64))
    assert y.shape == (2, 1, 64, 64)
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_input_shape_check_suggests_padding(named_model: tuple[str, torch.nn.Module]) -> None:
    _, model = named_model
    with pytest.raises(ModelError, match="pad it to 64x64"):
        model(torch.zeros(1, 1, 60, 50))
    with pytest.raises(ModelError, match=r"expected input \(N,1,H,W\)"):
        model(torch.zeros(1, 3, 64, 64))


def test_param_counts(named_model: tuple[str, torch.nn.Module]) -> None:
    name, model = named_model
    assert sum(p.numel() for p in model.parameters()) == PARAM_COUNTS[name]


def test_alcnet_unused_decoder_layers_as_reference() -> None:
    """ALCNet keeps uplayer1/2 for the checkpoint layout but never runs them (~427k used parameters)."""
    model = create_model("ALCNet").train()
    model(torch.randn(2, 1, 32, 32)).sum().backward()
    used = sum(p.numel() for p in model.parameters() if p.grad is not None)
    assert used == 426_961


def test_detect_model_from_keys(named_model: tuple[str, torch.nn.Module]) -> None:
    name, model = named_model
    state = model.state_dict()
    assert detect_model(state) == name
    assert detect_model({f"model.{k}": v for k, v in state.items()}) == name


def test_detect_model_error_names_closest_and_keys() -> None:
    state = create_model("ACM").state_dict()
    del state["fuse1.post.0.weight"], state["head.block.4.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as info:
        detect_model(state)
    msg = str(info.value)
    assert "closest is ACM" in msg and "2 missing" in msg and "1 unexpected" in msg
    assert "head.block.4.bias" in msg and "extra.weight" in msg


def test_single_head_models_reject_deep_supervision() -> None:
    for name in ("ACM", "ALCNet"):
        with pytest.raises(ModelError, match="single output head"):
            create_model(name, deep_supervision=True)


def test_models_declare_padding_and_supervision(named_model: tuple[str, torch.nn.Module]) -> None:
    """The pad multiple and deep supervision come from the model's declaration (trainer, checkpoints)."""
    name, model = named_model
    assert model.pad_multiple % model.input_multiple == 0 and pad_multiple_of(name) == model.pad_multiple
    assert training_options(name) == ({"deep_supervision": True} if name == "DNANet" else {})
    create_model(name, **training_options(name))  # every model takes the options it trains with


def test_dnanet_deep_supervision_modes() -> None:
    torch.manual_seed(0)
    plain, deep = create_model("DNANet"), create_model("DNANet", deep_supervision=True)
    assert plain.state_dict().keys() == deep.state_dict().keys()
    deep.load_state_dict(plain.state_dict())
    x = torch.randn(2, 1, 32, 32)
    heads = deep.train()(x)
    assert isinstance(heads, list) and len(heads) == 4
    assert all(h.shape == (2, 1, 32, 32) and h.min() >= 0 and h.max() <= 1 for h in heads)
    assert torch.allclose(heads[-1], plain.train()(x))
    with torch.no_grad():
        assert torch.equal(deep.eval()(x), plain.eval()(x))
        assert torch.equal(deep.forward_heads(x)[-1], deep(x))


@torch.no_grad()
def test_export_with_dynamic_size() -> None:
    """ALCNet's graph reads the input size (final resize): an export at 64x64 must follow other sizes."""
    model = create_model("ALCNet").eval()
    h, w = torch.export.Dim("h", min=1, max=64), torch.export.Dim("w", min=1, max=64)
    shapes = {"x": {2: 16 * h, 3: 16 * w}}
    program = torch.export.export(model, (torch.randn(1, 1, 64, 64),), dynamic_shapes=shapes)
    x = torch.randn(1, 1, 96, 128)
    assert torch.equal(program.module()(x), model(x))


@torch.no_grad()
def test_save_load_round_trip(named_model: tuple[str, torch.nn.Module], tmp_path: Path) -> None:
    name, model = named_model
    meta = ModelMeta(model=name.lower(), mean=101.06, std=34.62, threshold=0.4, label_type="coarse")
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pth.tar", model, meta, epoch=7)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert all(k.startswith("model.") for k in raw["state_dict"])  # the paper's code can load it
    ckpt = load_checkpoint(path)
    assert not ckpt.model.training and type(ckpt.model) is type(model)
    assert ckpt.meta.model == name and ckpt.meta.mean == 101.06 and ckpt.meta.threshold == 0.4
    assert ckpt.meta.torch_version == torch.__version__
    assert ckpt.extra == {"epoch": 7} and ckpt.sha256 == sha256_file(path)
    x = torch.randn(1, 1, 64, 64)
    assert torch.equal(ckpt.model(x), model(x))
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pth.tar"]  # no temporary left behind


def test_load_bare_state_dict_and_forced_model(tmp_path: Path) -> None:
    path = tmp_path / "bare.pth"
    torch.save(create_model("ALCNet").state_dict(), path)
    ckpt = load_checkpoint(path)
    assert ckpt.meta.model == "ALCNet" and ckpt.meta.mean is None
    with pytest.raises(CheckpointError, match=r"bare\.pth: weights do not fit DNANet"):
        load_checkpoint(path, model="dnanet")


def test_save_rejects_wrong_meta(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="meta.model is 'DNANet'"):
        save_checkpoint(tmp_path / "x.pth", create_model("ACM"), ModelMeta(model="DNANet"))
    with pytest.raises(CheckpointError, match="may not be named"):
        save_checkpoint(tmp_path / "x.pth", create_model("ACM"), ModelMeta(model="ACM"), lesps_meta={})


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    good = save_checkpoint(tmp_path / "good.pth", create_model("ACM"), ModelMeta(model="ACM"))
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"cut\.pth: unreadable or truncated"):
        load_checkpoint(cut)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pth"):
        load_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(CheckpointError, match=r"missing\.pth: no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pth")
    torch.save({"weights": [1, 2]}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match=r"other\.pth: no 'state_dict'"):
        load_checkpoint(tmp_path / "other.pth")


@pytest.mark.parametrize("stem", sorted(OFFICIAL))
def test_official_checkpoints_load_strictly(official_weights: Path, stem: str) -> None:
    path = official_weights / f"{stem}.pth.tar"
    name, label = OFFICIAL[stem]
    state = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    assert detect_model(state) == name
    model = create_model(name)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()}, strict=True)
    ckpt = load_checkpoint(path)
    assert type(ckpt.model) is type(model) and not ckpt.model.training
    # The release table supplies what the files do not store (normalization: SIRST3).
    assert (ckpt.meta.model, ckpt.meta.label_type, ckpt.meta.dataset, ckpt.meta.threshold) == (
        name,
        label,
        "SIRST3",
        0.5,
    )
    assert (ckpt.meta.mean, ckpt.meta.std) == (95.010, 41.511) and ckpt.release.name == stem
    for key, value in ckpt.model.state_dict().items():
        assert torch.equal(value, state[f"model.{key}"]), key
