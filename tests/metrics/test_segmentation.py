"""Metrics against a plain per-component reference written here (skimage-regionprops style loops)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from lesps_deploy.data.components import component_stats, label_components
from lesps_deploy.metrics import MetricCounts, SegmentationMetrics, image_counts


def plain_counts(
    pred: np.ndarray, mask: np.ndarray, fa_rule: str = "current"
) -> tuple[int, int, int, int, int]:
    """The reference test loop, spelled out with Python loops over components and pixels.

    current: the authors' code today, `(predits - true_img).sum()` with `true_img` the matched
    components' pixels; 2023: the areas of components whose area value no matched component has.
    """
    target = mask.astype(np.float32) / 255.0
    inter = int(((pred > 0) & (target == 1.0)).sum())
    labelled = int(((target >= 0.5) & (target <= 1.5)).sum())
    union = int(pred.sum()) + labelled - inter

    def regions(binary):
        lab, n = ndimage.label(binary, structure=np.ones((3, 3)))
        out = []
        for k in range(1, n + 1):
            coords = [(r, c) for r, c in zip(*np.nonzero(lab == k), strict=True)]
            out.append((len(coords), np.mean([p[0] for p in coords]), np.mean([p[1] for p in coords])))
        return out

    gts, preds = regions(target.astype(np.int64) > 0), regions(pred)
    all_areas = [a for a, _, _ in preds]
    matched_areas, detected = [], 0
    for _, gr, gc in gts:
        for m, (area, pr, pc) in enumerate(preds):
            if np.hypot(pr - gr, pc - gc) < 3:
                detected += 1
                matched_areas.append(area)
                del preds[m]
                break
    if fa_rule == "current":
        fa = int(pred.sum()) - int(sum(matched_areas))
    else:
        fa = int(sum(a for a in all_areas if a not in matched_areas))
    return inter, union, len(gts), detected, fa


def random_case(rng: np.random.Generator, size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((size, size), np.uint8)
    pred = np.zeros((size, size), bool)
    for _ in range(rng.integers(0, 5)):
        r, c, h, w = rng.integers(0, size - 4, 2).tolist() + rng.integers(1, 5, 2).tolist()
        mask[r : r + h, c : c + w] = 255
        dr, dc = rng.integers(-3, 4, 2)
        pred[max(r + dr, 0) : r + dr + h, max(c + dc, 0) : c + dc + w] = True
    for _ in range(rng.integers(0, 6)):  # clutter false alarms, some with equal areas
        r, c = rng.integers(0, size - 2, 2)
        pred[r : r + rng.integers(1, 3), c : c + rng.integers(1, 3)] = True
    stray = rng.random((size, size)) < 0.01  # stray non-0/255 values as in IRSTD-1K masks
    mask[stray] = rng.choice(np.array([22, 127, 128, 200], np.uint8), stray.sum())
    return pred, mask


@pytest.mark.parametrize("fa_rule", ["current", "2023"])
@pytest.mark.parametrize("seed", range(40))
def test_matches_plain_reference(seed: int, fa_rule: str) -> None:
    pred, mask = random_case(np.random.default_rng(seed))
    c = image_counts(pred, mask, fa_rule=fa_rule)
    expected = plain_counts(pred, mask, fa_rule)
    assert (c.intersection, c.union, c.targets, c.detected, c.false_alarm_pixels) == expected


def test_fa_rules_differ_on_same_area_component() -> None:
    mask = np.zeros((32, 32), np.uint8)
    mask[5, 5] = 255
    pred = np.zeros((32, 32), bool)
    pred[5, 5] = True  # matched, area 1
    pred[20, 20] = True  # unmatched, area 1: the 2023 code does not count it, the current code does
    assert image_counts(pred, mask).false_alarm_pixels == 1  # default: the authors' current rule
    assert image_counts(pred, mask, fa_rule="current").false_alarm_pixels == 1
    assert image_counts(pred, mask, fa_rule="2023").false_alarm_pixels == 0
    assert SegmentationMetrics().fa_rule == "current"


def test_fa_rules_differ_on_random_cases() -> None:
    """The crafted case above is not alone: on random scenes the rules differ, current >= 2023."""
    differ = 0
    for seed in range(200):
        pred, mask = random_case(np.random.default_rng(1000 + seed))
        current = image_counts(pred, mask, fa_rule="current").false_alarm_pixels
        old = image_counts(pred, mask, fa_rule="2023").false_alarm_pixels
        assert current >= old
        differ += current != old
    assert differ > 0


def test_fa_rule_refused_when_unknown() -> None:
    from lesps_deploy.errors import ConfigError

    with pytest.raises(ConfigError, match="--fa-rule"):
        image_counts(np.zeros((4, 4), bool), np.zeros((4, 4), np.uint8), fa_rule="2022")


def test_mixed_mask_rule() -> None:
    mask = np.zeros((8, 8), np.uint8)
    mask[1, 1], mask[1, 2] = 255, 200  # 200 is labelled for IoU but never intersects
    pred = np.zeros((8, 8), bool)
    pred[1, 1:3] = True
    c = image_counts(pred, mask)
    assert (c.intersection, c.union) == (1, 3)
    c = image_counts(pred, mask, mask_threshold=100)
    assert (c.intersection, c.union) == (2, 2)


def test_counts_merge_and_summary() -> None:
    rng = np.random.default_rng(0)
    a, b = SegmentationMetrics(), SegmentationMetrics()
    cases = [random_case(rng) for _ in range(6)]
    for p, m in cases[:3]:
        a.update(p, m)
    for p, m in cases[3:]:
        b.update(p, m)
    whole = SegmentationMetrics()
    for p, m in cases:
        whole.update(p, m)
    a.merge(b)
    assert a.summary() == pytest.approx(whole.summary())
    assert MetricCounts().summary()["Pd"] is None  # no target: Pd is not available (null, "n/a")


def test_component_stats() -> None:
    m = np.zeros((10, 10), bool)
    m[1:3, 1:4] = True
    m[7, 7] = True
    m[8, 8] = True  # diagonal neighbour: same 8-connected component
    labels, n = label_components(m)
    scores = np.arange(100, dtype=np.float32).reshape(10, 10)
    st = component_stats(labels, n, scores)
    assert n == 2
    assert st.area.tolist() == [6, 2]
    assert st.centroid[0].tolist() == [1.5, 2.0]
    assert st.bbox[1].tolist() == [7, 7, 9, 9]
    assert st.peak.tolist() == [23.0, 88.0]
