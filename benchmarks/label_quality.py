"""Label quality under evolution rounds: why labels shrink against full masks, and which update fixes it.

No training: the predictions of fixed networks (default: the released ACM_LESPS_centroid, trained on
SIRST3, and any of our run checkpoints given with --weights) are made once for the chosen split, then
rounds of `evolve_labels` are applied from the initial labels (top-hat pseudo-masks or points) with each
update variant. Per round it reports label IoU against the full masks overall, per target size and per
target contrast (terciles over the split), the false growth (labelled pixels outside every target, as a
share of target pixels) and the misses (target pixels left unlabelled, same share).

The split is the train split, or (`--split val`) a validation split carved from it
(`carve_validation`), the one to choose defaults on; NUAA-SIRST's test split is never read.

    python benchmarks/label_quality.py [--data DIR] [--weights A.pth.tar,B.pth.tar] [--rounds 8]
        [--split val] [--variants paper,decay,...] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lesps_deploy.data import NORM_PRESETS, Norm  # noqa: E402
from lesps_deploy.models import load_checkpoint  # noqa: E402
from lesps_deploy.runtime.processing import infer_probabilities  # noqa: E402
from lesps_deploy.runtime.torch_backend import TorchBackend  # noqa: E402
from training.data import carve_validation, load_train_data  # noqa: E402
from training.evolution import evolve_labels  # noqa: E402
from training.label_quality import LabelQuality  # noqa: E402
from training.pseudo_masks import prior_envelopes, pseudo_masks_for  # noqa: E402

SHARED = Path(os.environ.get("LESPS_SHARED", ROOT.parent / "shared"))
RELEASED = SHARED / "weights" / "lesps-official" / "ACM_LESPS_centroid.pth.tar"

# Update variants: keyword options of evolve_labels ("envelope" asks for the contrast prior's support).
VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {},
    "tb0.6": {"tb": 0.6},
    "tb0.7": {"tb": 0.7},
    "tb0.8": {"tb": 0.8},
    "decay": {"decay": 0.97},
    "minprob": {"min_prob": 0.5},
    "env0.25": {"envelope": (0.25, 1)},
    "env0.35": {"envelope": (0.35, 1)},
    "env0.25g0": {"envelope": (0.25, 0)},
    "env0.35g0": {"envelope": (0.35, 0)},
    "env0.5g0": {"envelope": (0.5, 0)},
    "tb0.7+env0.25": {"tb": 0.7, "envelope": (0.25, 1)},
    "tb0.7+env0.35": {"tb": 0.7, "envelope": (0.35, 1)},
    "tb0.7+env0.25g0": {"tb": 0.7, "envelope": (0.25, 0)},
    "tb0.8+env0.25": {"tb": 0.8, "envelope": (0.25, 1)},
    "tb0.7+env0.25+decay": {"tb": 0.7, "envelope": (0.25, 1), "decay": 0.97},
}


def predictions(weights: Path, images: list[np.ndarray], cache: Path) -> list[np.ndarray]:
    """Probability maps of `weights` on `images` (cached by the weights' and images' digest)."""
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    key = hashlib.sha256(b"".join(np.ascontiguousarray(i).tobytes()[:4096] for i in images)).hexdigest()[:8]
    path = cache / f"probs_{weights.stem}_{digest}_{key}_{len(images)}.npz"
    if path.exists():
        with np.load(path) as npz:
            return [npz[str(i)] for i in range(len(images))]
    ckpt = load_checkpoint(weights)
    norm = Norm(ckpt.meta.mean, ckpt.meta.std) if ckpt.meta.mean is not None else NORM_PRESETS["SIRST3"]
    backend = TorchBackend.from_module(ckpt.model, ckpt.meta, "cpu")
    probs = infer_probabilities(backend, images, norm, batch_size=4, patch_size=None)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{str(i): p for i, p in enumerate(probs)})
    return probs


def run_variant(
    options: dict[str, Any],
    start: list[np.ndarray],
    probs: list[np.ndarray],
    envelopes: dict[tuple[float, int], list[np.ndarray]],
    rounds: int,
    measure: LabelQuality,
) -> list[dict[str, Any]]:
    kwargs = {k: v for k, v in options.items() if k != "envelope"}
    env = envelopes.get(options["envelope"]) if "envelope" in options else None
    labels, curve = list(start), [measure.measure(start)]
    for _ in range(rounds):
        labels = [
            evolve_labels(p, lab, envelope=None if env is None else env[i], **kwargs)
            for i, (p, lab) in enumerate(zip(probs, labels, strict=True))
        ]
        curve.append(measure.measure(labels))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "datasets" / "NUAA-SIRST")
    parser.add_argument("--weights", default=str(RELEASED), help="comma-separated checkpoints")
    parser.add_argument("--labels", default="centroid", choices=("centroid", "coarse"))
    parser.add_argument("--init", default="tophat", choices=("tophat", "mpcm", "points"))
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lesps_label_quality"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    data = load_train_data(args.data, args.labels)
    keep = carve_validation(data.names)[1] if args.split == "val" else range(len(data.names))
    images = [data.images[i] for i in keep]
    points = [data.labels[i] for i in keep]
    masks = [data.masks[i] for i in keep]  # type: ignore[index]
    measure = LabelQuality(images, masks)
    tgts = measure.targets
    start = points if args.init == "points" else pseudo_masks_for(images, points, args.init)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    ratios = {VARIANTS[n]["envelope"] for n in names if "envelope" in VARIANTS[n]}
    envelopes = {r: prior_envelopes(images, points, "tophat", *r) for r in ratios}
    print(
        f"{args.split} split of {args.data.name}: {len(images)} images, {len(tgts)} targets; "
        f"{args.labels} points, initial labels {args.init}; {args.rounds} rounds"
    )
    report: dict[str, Any] = {"split": args.split, "images": len(images), "targets": len(tgts), "runs": {}}
    for weights in [Path(w) for w in args.weights.split(",") if w]:
        probs = predictions(weights, images, args.cache)
        print(f"\npredictions of {weights}")
        keys = (
            "iou",
            "edge_growth",
            "clutter_growth",
            "missed",
            "iou_small",
            "iou_large",
            "iou_dim",
            "iou_bright",
        )
        print(f"{'variant':<16}" + "".join(f"{k:>14}" for k in keys) + "   (start -> last round)")
        for name in names:
            curve = run_variant(VARIANTS[name], start, probs, envelopes, args.rounds, measure)
            report["runs"][f"{weights.name}/{name}"] = curve
            cells = "".join(f"{100 * curve[0][k]:>6.1f}->{100 * curve[-1][k]:>5.1f}" for k in keys)
            print(f"{name:<16}{cells}   iou/round: " + " ".join(f"{100 * q['iou']:.1f}" for q in curve))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
