"""The evolution options against over-growth, the contrast-prior envelope, label quality measures, the
validation carve, crops and prefetched batches (same batches as the plain loop), legacy run configs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.data import Norm
from lesps_deploy.options import declared, flag_of
from lesps_deploy.training.config import LEGACY, PAPER_MODE, TrainConfig
from lesps_deploy.training.copy_paste import TargetBank
from lesps_deploy.training.data import (
    CropDataset,
    TrainData,
    carve_validation,
    normalize,
    prefetched_batches,
    random_crop,
)
from lesps_deploy.training.evolution import evolve_labels
from lesps_deploy.training.label_quality import LabelQuality
from lesps_deploy.training.pseudo_masks import prior_envelopes


def _blob(size: int = 48, sigma: float = 1.2, wide: float = 3.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small bright target, a network prediction wider than it (a blurred blob), its centre point."""
    yy, xx = np.mgrid[:size, :size]
    r2 = (yy - size // 2) ** 2 + (xx - size // 2) ** 2
    image = (40 + 100 * np.exp(-r2 / (2 * sigma**2))).astype(np.float32)
    pred = np.exp(-r2 / (2 * wide**2)).astype(np.float32)
    point = np.zeros((size, size), np.float32)
    point[size // 2, size // 2] = 1
    return image, pred, point


def test_envelope_keeps_growth_to_the_target() -> None:
    image, pred, point = _blob()
    target = image > 40 + 25
    env = prior_envelopes([image], [point], "tophat", 0.35, grow=0)[0]
    free, kept = point, point
    for _ in range(6):
        free = evolve_labels(pred, free)
        kept = evolve_labels(pred, kept, envelope=env)
    assert (free >= 0.5).sum() > 2 * target.sum()  # the paper's update follows the wide blob
    assert ((kept >= 0.5) & ~env).sum() == 0 and (kept >= 0.5).sum() <= env.sum()
    assert kept[point == 1].min() == 1  # the points stay


def test_decay_undoes_growth_the_network_no_longer_supports() -> None:
    _, pred, point = _blob()
    grown = point
    for _ in range(4):
        grown = evolve_labels(pred, grown)
    quiet = np.zeros_like(pred)
    quiet[24, 24] = 1.0  # the network now predicts the point alone
    kept, decayed = grown, grown
    for _ in range(30):
        kept = evolve_labels(quiet, kept)
        decayed = evolve_labels(quiet, decayed, decay=0.97)
    assert (kept >= 0.5).sum() == (grown >= 0.5).sum()  # labels only grow in the paper
    assert (decayed >= 0.5).sum() == 1 and decayed[24, 24] == 1


def test_min_prob_blocks_weak_candidates() -> None:
    _, pred, point = _blob()
    weak = pred * 0.4
    assert (evolve_labels(weak, point) > 0).sum() > 1
    assert (evolve_labels(weak, point, min_prob=0.5) > 0).sum() == 1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(5, 40), st.integers(5, 40), st.integers(8, 48))
def test_crop_then_normalize_equals_the_reference_order(seed: int, h: int, w: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 255, (h, w)).astype(np.float32)
    label = (rng.random((h, w)) > 0.9).astype(np.float32)
    norm = Norm(float(rng.uniform(50, 120)), float(rng.uniform(20, 50)))
    ref = random_crop(normalize(image, norm), label, size, np.random.default_rng(seed))
    raw = random_crop(image, label, size, np.random.default_rng(seed), np.float32(norm.mean))
    assert np.array_equal(normalize(raw[0], norm), ref[0]) and np.array_equal(raw[1], ref[1])


def test_prefetched_batches_are_the_plain_batches() -> None:
    rng = np.random.default_rng(0)
    images = [rng.uniform(0, 255, (40 + i, 50)).astype(np.float32) for i in range(7)]
    labels = [(rng.random(im.shape) > 0.95).astype(np.float32) for im in images]
    data = TrainData(None, [str(i) for i in range(7)], images, labels, None)  # type: ignore[arg-type]
    dataset = CropDataset(data, Norm(90.0, 30.0), 32, seed=3)
    dataset.epoch = 2
    batches = [[3, 1, 0], [6, 2], [5, 4]]
    plain = [dataset.batch(b) for b in batches]
    fetched = list(prefetched_batches(dataset, batches))
    assert len(fetched) == 3
    for (a, b), (c, d) in zip(plain, fetched, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d) and a.shape[1:] == (1, 32, 32)
    assert list(prefetched_batches(dataset, [])) == []


def test_carve_validation_is_seeded_and_order_free() -> None:
    names = [f"img_{i}" for i in range(50)]
    train, val = carve_validation(names)
    assert len(val) == 10 and sorted(train + val) == list(range(50)) and not set(train) & set(val)
    again = carve_validation(list(reversed(names)))[1]
    assert {names[i] for i in val} == {names[::-1][i] for i in again}
    assert carve_validation(names, seed=1)[1] != val


def test_label_quality_splits_errors() -> None:
    image, _, point = _blob()
    mask = image > 40 + 25
    q = LabelQuality([image], [mask])
    assert len(q.targets) == 1
    exact = q.measure([mask.astype(np.float32)])
    assert exact["iou"] == 1.0 and exact["missed"] == 0 and exact["edge_growth"] == 0
    grown = np.zeros_like(image)
    grown[mask] = 1
    grown[0, 0] = 1  # far from the target: clutter
    dilated = np.pad(mask, 1)[:-2, 1:-1] | mask  # one pixel up: edge growth
    figures = q.measure([np.maximum(grown, dilated.astype(np.float32))])
    assert figures["clutter_growth"] == 1 / mask.sum() and figures["edge_growth"] > 0
    assert q.measure([point])["missed"] == (mask.sum() - 1) / mask.sum()


def test_a_run_written_before_an_option_existed_continues_as_it_started() -> None:
    saved = TrainConfig(model="ACM").to_dict()
    for key in ("envelope", "amp", "channels_last", "prefetch", "decay", "min_prob"):
        saved.pop(key)
    old = TrainConfig.from_dict(saved)
    assert old.envelope is None and old.amp is False and old.decay == 1.0 and old.channels_last is False
    assert TrainConfig.from_dict(TrainConfig(model="ACM").to_dict()).envelope == 0.35


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(8, 90), st.integers(8, 90), st.integers(4, 64))
def test_positive_crops_hold_a_labelled_pixel(seed: int, h: int, w: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    label = np.zeros((h, w), np.float32)
    label[rng.integers(h), rng.integers(w)] = 1
    data = TrainData(None, ["a"], [rng.uniform(0, 255, (h, w)).astype(np.float32)], [label], None)  # type: ignore[arg-type]
    dataset = CropDataset(data, Norm(90.0, 30.0), size, seed=seed, pos_crops=1.0)
    for epoch in range(3):
        dataset.epoch = epoch
        image, crop = dataset[0]
        assert image.shape == (1, size, size) and crop.max() == 1


def test_copy_paste_adds_a_labelled_target_with_its_contrast() -> None:
    image, _, _ = _blob()
    mask = (image > 40 + 25).astype(np.float32)
    bank = TargetBank([image], [mask])
    assert len(bank) == 1
    flat = np.full((40, 40), 70.0, np.float32)
    data = TrainData(None, ["t", "empty"], [image, flat], [mask, np.zeros_like(flat)], None)  # type: ignore[arg-type]
    dataset = CropDataset(data, Norm(0.0, 1.0), 32, seed=0, copy_paste=1.0)
    for epoch in range(4):
        dataset.epoch = epoch
        crop, label = dataset[1]
        assert label.max() == 1 and label.sum() == mask.sum()  # the one target, pasted whole
        assert float(crop[label == 1].min()) > 70  # brighter than the background it lands on
        assert float(crop[label == 0].max()) == 70  # the rest of the crop is untouched
    assert len(TargetBank([image], [np.ones_like(image)])) == 0  # not a small target: not banked


def test_paper_mode_turns_every_addition_off() -> None:
    """`PAPER_MODE` is the authors' train.py: every option added since the paper (each has a LEGACY value,
    the behaviour runs had before it) is at that value, and the paper's start rule and init are named."""
    cfg = TrainConfig(model="ACM", **PAPER_MODE)
    speed_only = {"amp", "channels_last"}  # change no numbers class; the paper trains fp32, NCHW
    unused = {"outside_envelope"}  # what the envelope cuts: nothing, without an envelope
    legacy = TrainConfig(model="ACM", **{k: v for k, v in LEGACY.items() if k not in speed_only | unused})
    for name in set(LEGACY) - speed_only - unused:
        assert getattr(cfg, name) == getattr(legacy, name), name
    assert cfg.envelope is None
    assert (cfg.start_rule, cfg.init_labels, cfg.prior) == ("tloss", "points", None)
    assert (cfg.decay, cfg.min_prob, cfg.pos_crops, cfg.copy_paste) == (1.0, 0.0, 0.0, 0.0)


def test_readme_names_paper_mode_exactly() -> None:
    """README's "the paper exactly" command line sets the same options as `PAPER_MODE`, no more, no less."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    line = re.search(r"`(--start-rule[^`]*)` is the paper exactly", readme)
    assert line, "README lost its paper-exactly line"
    words = line.group(1).split()
    by_flag = {flag_of(f): f for f, _ in declared(TrainConfig)}
    given = {
        by_flag[k].name: type(by_flag[k].default)(v) for k, v in zip(words[::2], words[1::2], strict=True)
    }
    assert TrainConfig(model="ACM", **given) == TrainConfig(model="ACM", **PAPER_MODE)
    assert set(given) == set(PAPER_MODE)
