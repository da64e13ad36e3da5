"""LESPS label evolution: one update of point labels from the network's own predictions.

Paper: Ying et al., "Mapping Degeneration Meets Label Evolution: Learning Infrared Small Target
Detection with Single Point Supervision", CVPR 2023. Reference: `Net.update_gt` in XinyiYing/LESPS
`net.py` (we reimplement it; the reference is checked against ../shared/golden/label_evolution_nuaa24.npz).

The reference walks the targets one by one and convolves a full-size point image with a 33x33 and a
3x3 box per target (about 0.47 s per image). The update only ever touches a 33x33 window per target,
so here the (sparse) label regions are found from their pixels alone, every target's window is
gathered at once, thresholded and labelled as one (targets, 33, 33) stack, and the hits are
scattered back: no full-image convolution, labelling or padding (under a millisecond per image).

The work is a few small windows per image, so torch inputs (CPU or CUDA) run this same float32 code
on the host and the result goes back to the input's device: one math for every device.

Quirks kept from the reference (the golden file was produced by it and agrees with each of them):

* Regions are the 8-connected components of `label > 0.5`; their centroid is floored (`int()`).
* The adaptive threshold is computed in float32 exactly as the reference's torch ops do:
  `t0 = Tb * max`, `t = t0 + k * (max - t0) * (area / (H * W * 0.0015))`, where `max` is the maximum
  of the prediction masked to the window (masked-out pixels count as 0).
* Candidate components that do not overlap the 3x3 core around the centroid are dropped, but only
  when the window has more than one candidate component (a single component is always kept, even
  when it lies away from the point).
* Targets are applied one after the other, each on the result of the previous one; a pixel inside
  the candidates of n targets therefore gets `label = (label + pred) / 2` applied n times. Since the
  update of a pixel depends only on its own value and `pred`, the order of targets cannot change the
  result, which is what lets us count hits per pixel instead of looping over targets.
* Finally `label = max(label, original label == 1)` so the initial points always stay 1.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
from scipy import ndimage

from lesps_deploy.errors import DataError

__all__ = ["evolve_labels", "WINDOW", "CORE", "AREA_FRACTION", "UNKNOWN"]

WINDOW = 33  # side of the neighbourhood searched around each point (reference `background_length`)
CORE = 3  # side of the core a kept candidate component must overlap (reference `target_length`)
AREA_FRACTION = 0.0015  # region area at which the threshold reaches its maximum, as a share of H*W
# Label value of a pixel whose class is unknown: left out of the loss (`training.loss`), neither target nor
# background. Negative, so every `label >= t` test (label IoU, regions, crops) reads it as unlabelled.
UNKNOWN = -1.0

_HALF = WINDOW // 2
_CORE_LO, _CORE_HI = _HALF - CORE // 2, _HALF + CORE // 2 + 1
# 8-connectivity inside each window, none between stacked windows.
_PER_WINDOW = np.zeros((3, 3, 3), dtype=bool)
_PER_WINDOW[1] = True

ArrayT = TypeVar("ArrayT")


def evolve_labels(
    pred: ArrayT,
    label: ArrayT,
    tb: float = 0.5,
    k: float = 0.5,
    *,
    decay: float = 1.0,
    min_prob: float = 0.0,
    envelope: np.ndarray | None = None,
    unknown_cut: bool = False,
) -> ArrayT:
    """Apply one LESPS label update to one image.

    The defaults are the paper's update (checked against the authors' golden file). The keyword
    options are this project's changes against over-growth into clutter, each off at its default:

    Args:
        pred: network probabilities, HxW float (numpy array or torch tensor, any device).
        label: current label, HxW float in [0, 1] (points are 1).
        tb: Tb, the threshold's share of the window maximum at zero area.
        k: k, how fast the threshold rises towards the maximum as the region grows.
        decay: every label pixel that is not a candidate of this round is multiplied by `decay`
            (1: the paper, a label only ever grows; PAL uses 0.97), so growth the network no longer
            supports fades instead of staying forever. The points stay 1.
        min_prob: a candidate pixel must also have `pred >= min_prob` (0: the paper's relative
            threshold alone, which a weak peak in clutter passes as easily as a target).
        envelope: HxW booleans a candidate must lie in (e.g. the contrast prior's support,
            `training.pseudo_masks.prior_envelope`); None: anywhere in the window.
        unknown_cut: with an envelope, the pixels it cuts from this round's candidates (the network
            says target, the prior says not) that no label holds become `UNKNOWN` instead of staying
            background, so the loss stops teaching the network that they are background. Recomputed
            each round: the unknowns of the input label are dropped first.

    Returns:
        The evolved label, float32, of the same kind as `label` (numpy, or a torch tensor on
        `label`'s device).

    Raises:
        DataError: when the inputs are not two-dimensional arrays of the same shape.

    Example:
        >>> new_label = evolve_labels(prob[0, 0], label)
    """
    if isinstance(label, torch.Tensor):
        device = label.device
        pred_np = torch.as_tensor(pred).detach().to("cpu", torch.float32).numpy()
        label_np = label.detach().to("cpu", torch.float32).numpy()
        # Same float32 math on the host for every device: a few 33x33 windows, cheaper than kernels.
        evolved = _evolve(pred_np, label_np, tb, k, decay, min_prob, envelope, unknown_cut)
        return torch.from_numpy(evolved).to(device)
    return _evolve(np.asarray(pred), np.asarray(label), tb, k, decay, min_prob, envelope, unknown_cut)


def _evolve(
    pred: np.ndarray,
    label: np.ndarray,
    tb: float,
    k: float,
    decay: float = 1.0,
    min_prob: float = 0.0,
    envelope: np.ndarray | None = None,
    unknown_cut: bool = False,
) -> np.ndarray:
    pred = np.ascontiguousarray(pred, dtype=np.float32)
    label = np.ascontiguousarray(label, dtype=np.float32)
    if pred.ndim != 2 or pred.shape != label.shape:
        raise DataError(
            f"evolve_labels: pred {pred.shape} and label {label.shape} must be HxW of the same size"
        )
    label = np.maximum(label, np.float32(0))  # the last round's unknowns: this round decides anew
    out = label.copy()
    cut = np.zeros(0, np.int64)
    pixels = np.flatnonzero(label > 0.5)
    if pixels.size:
        centers, areas = _regions(pixels, label.shape)
        rows, cols, inside = _window_grid(centers, label.shape)
        windows = np.where(inside, pred[rows, cols], np.float32(0))
        thresholds = _thresholds(windows, areas, label.shape, tb, k)
        above = windows > thresholds[:, None, None]
        if min_prob > 0:
            above &= windows >= np.float32(min_prob)
        flat = rows * label.shape[1] + cols
        if envelope is not None:
            if unknown_cut:
                cut = np.unique(flat[_drop_false_alarms(above)])
            above &= np.asarray(envelope, dtype=bool)[rows, cols] & inside
        candidates = _drop_false_alarms(above)
        # Pixels outside the image are 0 in `windows`, never above a threshold >= 0: all hits are inside.
        hit, times = np.unique(flat[candidates], return_counts=True)
        flat_out, flat_pred = out.reshape(-1), pred.reshape(-1)
        if decay != 1.0:
            kept = flat_out[hit]
            flat_out *= np.float32(decay)
            flat_out[hit] = kept
        for round_ in range(1, int(times.max(initial=0)) + 1):
            sel = hit[times >= round_]
            flat_out[sel] = (flat_out[sel] + flat_pred[sel]) / np.float32(2)
    out = np.maximum(out, (label == 1).astype(np.float32))
    if cut.size:
        flat_final = out.reshape(-1)
        cut = cut[flat_final[cut] == 0]  # a pixel some label holds keeps its value
        flat_final[cut] = np.float32(UNKNOWN)
    return out


def _regions(pixels: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Floored centroids (n, 2) and areas of the 8-connected regions of the given flat pixel indices.

    Labels are sparse (points, small evolved blobs), so the regions are found as connected components
    of a graph over those pixels instead of labelling the full image.
    """
    h, w = shape
    rows, cols = np.divmod(pixels, w)
    src, dst = [], []
    for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):  # forward half of the 8-neighbourhood
        nr, nc = rows + dr, cols + dc
        neighbour = nr * w + nc
        pos = np.minimum(np.searchsorted(pixels, neighbour), pixels.size - 1)
        linked = (nr < h) & (nc >= 0) & (nc < w) & (pixels[pos] == neighbour)
        src.append(np.flatnonzero(linked))
        dst.append(pos[linked])
    count, ids = _components(pixels.size, np.concatenate(src), np.concatenate(dst))
    areas = np.bincount(ids, minlength=count)
    # Integer sums and floor division give floor(mean) exactly, like int(regionprops.centroid).
    sum_r = np.bincount(ids, weights=rows, minlength=count).astype(np.int64)
    sum_c = np.bincount(ids, weights=cols, minlength=count).astype(np.int64)
    return np.stack([sum_r // areas, sum_c // areas], axis=1), areas


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of an n-node graph given by edges: (count, component id per node).

    Min-label hooking plus pointer jumping; a handful of vectorised passes for the small graphs here,
    without the fixed costs of scipy.sparse that dominate at this size.
    """
    ids = np.arange(n)
    while src.size:
        low = np.minimum(ids[src], ids[dst])
        new = ids.copy()
        np.minimum.at(new, src, low)
        np.minimum.at(new, dst, low)
        new = new[new]
        if np.array_equal(new, ids):
            break
        ids = new
    roots, ids = np.unique(ids, return_inverse=True)
    return roots.size, ids


def _window_grid(centers: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row/column indices (n, 33, 33) of each centre's window, clipped, and a mask of those inside."""
    h, w = shape
    offsets = np.arange(-_HALF, _HALF + 1)
    rows = centers[:, 0, None] + offsets
    cols = centers[:, 1, None] + offsets
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    rows = np.broadcast_to(np.clip(rows, 0, h - 1)[:, :, None], inside.shape)
    cols = np.broadcast_to(np.clip(cols, 0, w - 1)[:, None, :], inside.shape)
    return rows, cols, inside


def _thresholds(
    windows: np.ndarray, areas: np.ndarray, shape: tuple[int, int], tb: float, k: float
) -> np.ndarray:
    """Per-target adaptive thresholds with the reference's float32 operation order."""
    f32 = np.float32
    # Masked-out pixels of `pred * nbr_mask` are 0 and take part in the reference's max.
    peak = np.maximum(windows.reshape(len(windows), -1).max(axis=1), f32(0))
    start = peak * f32(tb)
    limit = f32(shape[0] * shape[1]) * f32(AREA_FRACTION)
    ratio = areas.astype(f32) / limit
    return start + (f32(k) * (peak - start)) * ratio


def _drop_false_alarms(candidates: np.ndarray) -> np.ndarray:
    """Drop candidate components missing the 3x3 core, in windows holding more than one component."""
    labels, count = ndimage.label(candidates, structure=_PER_WINDOW)
    if count == 0:
        return candidates
    window_of = np.zeros(count + 1, dtype=np.int64)
    window_of[labels] = np.arange(len(labels))[:, None, None]
    per_window = np.bincount(window_of[1:], minlength=len(labels))
    keep = per_window[window_of] == 1
    keep[labels[:, _CORE_LO:_CORE_HI, _CORE_LO:_CORE_HI].ravel()] = True
    keep[0] = False
    return keep[labels]
