"""Metadata every artifact carries (checkpoint, ONNX `metadata_props`, engine header).

One dataclass, one string form: ONNX metadata values are strings, so `to_strings`/`from_strings`
round-trip through JSON-encoded values and unknown keys are kept in `extra`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lesps_deploy.io import json_text

__all__ = ["ModelMeta", "__version__"]

# The package version (pyproject reads it from here), stamped into every artifact written.
__version__ = "0.1.0"


@dataclass
class ModelMeta:
    """What a runtime needs to preprocess, run and threshold a model without extra flags.

    Attributes:
        model: registry name (ACM, ALCNet, DNANet).
        mean, std: input normalization `(x - mean) / std` on raw pixel values; None when unknown.
        input_bits: bit depth of the pixel values `mean`/`std` are statistics of (8: 0..255, as for the
            released checkpoints and the presets; 16: a model trained on raw 16-bit frames). Frames of
            another depth are mapped to it (`lesps_deploy.data.bit_depth`).
        threshold: probability threshold for the binary mask.
        pad_multiple: frames are padded to `(n // pad_multiple + 1) * pad_multiple` for the network (the
            reference's rule). Written from the model's declaration (`IRSTDModel.pad_multiple`); the
            default, the reference's 32, stands for artifacts that do not record it.
        label_type: supervision the weights were trained with (full, centroid, coarse).
        dataset: training dataset name (e.g. SIRST3).
        source_sha256: sha256 of the checkpoint an artifact was exported from.
        input_name, output_name: tensor names of exported graphs.
        lesps_deploy_version, torch_version: versions that wrote the artifact.
        precision: fp32, fp16 or int8 (the arithmetic of the artifact's graph or engine).
        calibration: INT8 only: method (and percentile), images, split and dataset it was calibrated on.
        parity: FP16/INT8: the detection-level check at export (ΔIoU, ΔnIoU, ΔPd, ΔFa against FP32, in
            points / 1e-6, max |Δp|, and the frames it was measured on).
        extra: any other key found in an artifact (kept, never interpreted).
    """

    model: str
    mean: float | None = None
    std: float | None = None
    input_bits: int = 8
    threshold: float = 0.5
    pad_multiple: int = 32
    label_type: str | None = None
    dataset: str | None = None
    source_sha256: str | None = None
    input_name: str = "input"
    output_name: str = "prob"
    lesps_deploy_version: str | None = None
    torch_version: str | None = None
    precision: str = "fp32"
    calibration: dict[str, Any] | None = None
    parity: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        known = {f.name for f in fields(cls)}
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known})
        kwargs = {k: v for k, v in data.items() if k in known and k != "extra"}
        return cls(**kwargs, extra=extra)

    def to_strings(self) -> dict[str, str]:
        """Flat str->str form for ONNX `metadata_props` (values JSON-encoded)."""
        out = {k: json_text(v) for k, v in self.to_dict().items() if k != "extra" and v is not None}
        out.update({k: json_text(v) for k, v in self.extra.items()})
        return out

    @classmethod
    def from_strings(cls, props: dict[str, str]) -> ModelMeta:
        decoded: dict[str, Any] = {}
        for key, value in props.items():
            try:
                decoded[key] = json.loads(value)
            except (json.JSONDecodeError, TypeError):
                decoded[key] = value
        return cls.from_dict(decoded)
