"""Frames of another bit depth than the model's normalization expects: the one rule that maps them.

A model's normalization is statistics of raw pixel values of one bit depth (`ModelMeta.input_bits`:
8 for the released checkpoints and the presets). Thermal cores deliver 14- or 16-bit frames; fed
raw to an 8-bit model they are normalized with 8-bit statistics and the output is noise (one
NUAA-SIRST image: IoU 0.375 -> 0.016). `FrameMapper` brings such frames to the model's depth:

- `agc` (default): per-frame linear stretch of the frame's range onto the model's, what a thermal
  camera's automatic gain control does to make an 8-bit video from its 14-bit data (FLIR's "linear
  histogram" AGC, here with no tail rejection: `AGC_TAIL_PERCENT` = 0, the 0th and 100th
  percentiles). Small targets are the hottest pixels of a frame, so any top tail saturates them and
  merges them with bright clutter: on the first 60 NUAA-SIRST test images made 16-bit (gain 0.6,
  offset 9000, noise), ACM_LESPS_centroid found 72/83 targets with the 8-bit originals and 72 with
  agc, but 71, 62 and 51 with tails of 0.01 %, 0.1 % and 1 % (whole test split: 234/263 on the
  originals, 240 with agc). The stretch raises the contrast of flat frames, so false alarms can grow
  there (2x on those 60 images, +5 % on the split); a camera's "max gain" limit would curb that, but
  it needs the sensor's noise in counts, which a frame does not carry.
- `scale`: divide by 257 (16-bit full scale 65535 -> 255), for 16-bit frames that are 8-bit frames
  widened (8-bit value * 257).
- `raw`: values unchanged, for models trained on 16-bit data with 16-bit statistics.

Mapped values are rounded to integers: the model was trained on integer pixel values.

Two rules for the values of float frames, whatever the mapping:

- a float frame whose values all lie in 0..1 (and not all 0) is a frame scaled to 0..1: its values
  are multiplied by the model's full scale (255) and rounded, so `frame / 255` gives the same input
  as `frame`. (A 0..255 frame that is black but for pixels of value 1 would read brighter; say
  `--frame-mapping raw` to keep values as they are.)
- a frame with a non-finite pixel (NaN, +-Infinity) is refused with a `DataError` naming the frame and
  how many pixels: no value could stand in for them without inventing data. In a batch (predict,
  evaluate) that frame is reported and skipped, and the rest goes on.
Evaluation, the `Detector` (predict, benchmark), INT8 calibration, 'auto' statistics and training
all map frames through `FrameMapper`, so one frame gets one input everywhere.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from lesps_deploy.data.images import check_finite, to_gray
from lesps_deploy.errors import ConfigError

__all__ = [
    "FRAME_MAPPINGS",
    "DEFAULT_FRAME_MAPPING",
    "AGC_TAIL_PERCENT",
    "FrameMapper",
    "frame_bits",
    "map_frame",
    "check_frame_mapping",
    "unit_scaled",
]

log = logging.getLogger(__name__)

FRAME_MAPPINGS = ("agc", "scale", "raw")
DEFAULT_FRAME_MAPPING = "agc"
AGC_TAIL_PERCENT = 0.0


def check_frame_mapping(mapping: str | None) -> None:
    """Raises ConfigError for a mapping name that is not one of `FRAME_MAPPINGS` (None: the default)."""
    if mapping is not None and mapping not in FRAME_MAPPINGS:
        raise ConfigError(f"--frame-mapping {mapping!r}: expected one of {', '.join(FRAME_MAPPINGS)}")


def frame_bits(frame: np.ndarray) -> int:
    """8 or 16: the bit depth of a frame's values.

    uint8 (and bool) frames are 8-bit, uint16 frames 16-bit (14-bit cores deliver in 16-bit words).
    Other types (the float32 of a decoded file) are 8-bit when every value lies in 0..255.
    """
    frame = np.asarray(frame)
    if frame.dtype in (np.uint8, np.bool_):
        return 8
    if frame.dtype == np.uint16:
        return 16
    if frame.size == 0:
        return 8
    return 8 if float(frame.min()) >= 0.0 and float(frame.max()) <= 255.0 else 16


def unit_scaled(frame: np.ndarray) -> bool:
    """Whether `frame` is a float frame scaled to 0..1 (every value in 0..1, not all 0)."""
    frame = np.asarray(frame)
    if frame.dtype.kind != "f" or frame.size == 0:
        return False
    top = float(frame.max())
    return 0.0 < top <= 1.0 and float(frame.min()) >= 0.0


def map_frame(gray: np.ndarray, from_bits: int, to_bits: int, mapping: str) -> np.ndarray:
    """Values of a gray frame of `from_bits` mapped to `to_bits` by `mapping` (see the module docstring).

    Returns:
        float32 HxW (integer values for agc and scale).
    """
    check_frame_mapping(mapping)
    values = np.asarray(gray, dtype=np.float32)
    top = np.float32(2**to_bits - 1)
    if mapping == "raw" or from_bits == to_bits:
        return values
    if mapping == "scale":
        out = values * (top / np.float32(2**from_bits - 1))
    else:
        if AGC_TAIL_PERCENT:
            lo, hi = np.percentile(values, (AGC_TAIL_PERCENT, 100.0 - AGC_TAIL_PERCENT))
        else:  # the same as percentiles 0 and 100, without a partition per frame
            lo, hi = float(values.min()), float(values.max())
        if hi <= lo:  # a flat frame has no contrast to stretch: mid-grey, as a camera shows it
            return np.full(values.shape, np.float32(np.floor(top / 2)), np.float32)
        out = (values - np.float32(lo)) * (top / np.float32(hi - lo))
    return np.rint(np.clip(out, 0, top)).astype(np.float32)


class FrameMapper:
    """Brings frames to the bit depth a model expects; frames already at it pass unchanged.

    Args:
        model_bits: the model's input bit depth (`ModelMeta.input_bits`).
        mapping: agc, scale or raw for frames of another depth; None: agc, said once in the log.

    Raises:
        ConfigError: unknown mapping.
    """

    def __init__(self, model_bits: int = 8, mapping: str | None = None) -> None:
        check_frame_mapping(mapping)
        self.model_bits = int(model_bits)
        self.mapping = mapping or DEFAULT_FRAME_MAPPING
        self.chosen = mapping is not None
        self._said = threading.Event()  # frames may come from several threads (evaluation workers)
        self._said_unit = threading.Event()

    @classmethod
    def for_model(cls, model_bits: int, mapping: str | FrameMapper | None) -> FrameMapper:
        """A mapper for a model: `mapping` itself when it is a mapper already in use (so its one log
        line is not said twice), else a new one."""
        return mapping if isinstance(mapping, FrameMapper) else cls(model_bits, mapping)

    def __getstate__(self) -> dict:  # DataLoader workers may pickle it; an Event does not pickle
        return {**self.__dict__, "_said": self._said.is_set(), "_said_unit": self._said_unit.is_set()}

    def __setstate__(self, state: dict) -> None:
        events = {}
        for key in ("_said", "_said_unit"):
            events[key] = threading.Event()
            if state.pop(key, False):
                events[key].set()
        self.__dict__.update(state, **events)

    def needs_mapping(self, frame: np.ndarray) -> bool:
        return self.mapping != "raw" and frame_bits(frame) != self.model_bits

    def __call__(self, frame: np.ndarray, name: str = "") -> np.ndarray:
        """`frame` itself when its depth is the model's (or under raw), else its mapped gray values.

        Raises:
            DataError: the frame holds NaN or Infinity (see the module docstring).
        """
        check_finite(frame, name)
        if self.mapping != "raw" and unit_scaled(frame):
            if not self._said_unit.is_set():
                self._said_unit.set()
                log.warning(
                    "%sfloat frames with values in 0..1: read as scaled to 0..1 (x%d, rounded); "
                    "--frame-mapping raw keeps them as they are", f"{name}: " if name else "",
                    2**self.model_bits - 1,
                )  # fmt: skip
            # Scaled channels first, then luma: the same gray as the unscaled frame gives.
            return to_gray(np.rint(np.asarray(frame, np.float64) * (2**self.model_bits - 1)))
        if not self.needs_mapping(frame):
            return frame
        bits = frame_bits(frame)
        if not self._said.is_set():
            self._said.set()
            self._say(frame, bits, name)
        return map_frame(to_gray(np.asarray(frame)), bits, self.model_bits, self.mapping)

    def _say(self, frame: np.ndarray, bits: int, name: str) -> None:
        how = {
            "agc": f"a per-frame linear stretch of the {AGC_TAIL_PERCENT:g}th..{100 - AGC_TAIL_PERCENT:g}th "
            "percentile range, as a thermal camera's AGC does",
            "scale": f"values scaled by (2^{self.model_bits}-1)/(2^{bits}-1)",
        }[self.mapping]
        choice = "" if self.chosen else " (the default; --frame-mapping scale|raw to change)"
        log.warning(
            "%s%d-bit frames (values up to %d) for a model that expects %d-bit input: mapped with %s%s, %s",
            f"{name}: " if name else "", bits, int(np.max(frame)), self.model_bits, self.mapping, choice, how,
        )  # fmt: skip
