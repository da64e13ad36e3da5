"""Property tests over the input domains: any input in the declared domain gives a result meeting its
invariants, or the declared error, never another exception.

- frame reader: frames of any stored type read back with their values, or a DataError (non-finite);
- `Detector.predict` (a tiny model exported to ONNX on the fly): frames of any dtype, shape and value
  range give one result each, targets inside the frame; a frame and the same frame exactly rescaled to
  another dtype (float 0..255 or 0..1, wider integers, 16-bit x257 under `scale`) give the same targets;
  wrong calls raise TypeError / ValueError, non-finite pixels DataError;
- the evaluator: counts consistent for any prediction and mask, 0/1 masks equal to 0/255 masks;
- the label writers: one pixel per point inside the image, the rest reported, never a crash.

Settings suit a 2-core CI runner: few examples, no deadline.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from lesps_deploy.data.components import label_components
from lesps_deploy.data.images import read_image, read_mask_noted
from lesps_deploy.errors import DataError, LespsError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.metrics.segmentation import MetricCounts, image_counts
from lesps_deploy.models import create_model, save_checkpoint
from lesps_deploy.runtime.detector import Detector

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.integers(1, 40)
gray_u8 = st.tuples(sizes, sizes).flatmap(lambda hw: hnp.arrays(np.uint8, hw))
colour_u8 = st.tuples(sizes, sizes).flatmap(lambda hw: hnp.arrays(np.uint8, (*hw, 3)))


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lesps_deploy.export.onnx_cache import cached_onnx

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("props")
    ckpt = save_checkpoint(root / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=90.0, std=30.0))
    return cached_onnx(ckpt, root=root / "onnx")


@pytest.fixture(scope="module")
def detectors(onnx_model: Path):
    # Threshold 0.5 on a random network's ~0.5 outputs: many targets, so the comparisons bite.
    with (
        Detector(onnx_model, threads=1) as plain,
        Detector(onnx_model, threads=1, frame_mapping="scale") as scale,
    ):
        yield plain, scale


def _targets(result) -> list[tuple]:
    return [(t.x, t.y, t.area) for t in result.targets]


# ---------------------------------------------------------------- frame reader
@SOME
@given(
    st.tuples(sizes, sizes).flatmap(
        lambda hw: st.one_of(
            hnp.arrays(np.uint8, hw),
            hnp.arrays(np.uint16, hw),
            hnp.arrays(np.float32, hw, elements=st.floats(-1e6, 1e6, width=32) | st.just(np.nan)),
        )
    )
)
def test_frame_reader_reads_back_or_refuses(frame: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("f.tif" if frame.dtype == np.float32 else "f.png")
        Image.fromarray(frame).save(path)
        if not np.isfinite(frame.astype(np.float64)).all():
            with pytest.raises(DataError, match="not finite"):
                read_image(path)
            return
        got = read_image(path)
    assert got.shape == frame.shape
    np.testing.assert_array_equal(got.astype(np.float64), frame.astype(np.float64))


# ---------------------------------------------------------------- Detector.predict
def _in_frame(result, frame: np.ndarray) -> None:
    h, w = frame.shape[:2]
    assert result.mask.shape == (h, w) and result.prob.shape == (h, w)
    for t in result.targets:
        assert 0 <= t.x < w and 0 <= t.y < h and t.area >= 1


@FEW
@given(
    frame=gray_u8 | colour_u8,
    form=st.sampled_from(["float32", "float64", "int16", "int32", "unit32", "unit64", "unit16", "x257"]),
)
def test_same_targets_for_a_frame_rescaled_to_another_dtype(detectors, frame: np.ndarray, form: str) -> None:
    # The one documented exception: a 0..255 frame whose values are only 0 and 1 reads as 0..1 scaled.
    assume(not 0 < frame.max() <= 1)
    plain, scale = detectors
    base = plain.predict([frame])[0]
    _in_frame(base, frame)
    if form.startswith("unit"):
        other, det = (
            (frame / 255.0).astype({"32": np.float32, "64": np.float64, "16": np.float16}[form[4:]]),
            plain,
        )
    elif form == "x257":
        other, det = frame.astype(np.uint16) * 257, scale
    else:
        other, det = frame.astype(form), plain
    again = det.predict([other])[0]
    assert _targets(again) == _targets(base)
    np.testing.assert_array_equal(again.mask, base.mask)


def _any_frame() -> st.SearchStrategy[np.ndarray]:
    dtypes = st.sampled_from(
        [np.uint8, np.uint16, np.int8, np.int16, np.int32, np.float16, np.float32, np.float64]
    )
    shapes = st.tuples(sizes, sizes) | st.tuples(sizes, sizes, st.sampled_from([1, 3, 4]))
    return st.tuples(dtypes, shapes).flatmap(
        lambda ds: hnp.arrays(
            ds[0], ds[1], elements=hnp.from_dtype(np.dtype(ds[0]), allow_nan=True, allow_infinity=True)
        )
    )


@FEW
@given(frames=st.lists(_any_frame(), min_size=1, max_size=3))
def test_any_frame_gives_a_result_or_the_declared_error(detectors, frames: list[np.ndarray]) -> None:
    plain, _ = detectors
    # The declared domain: finite values within float32's range (`data.images.check_finite`).
    top = float(np.finfo(np.float32).max)
    finite = all(
        np.isfinite(f.astype(np.float64)).all() and np.abs(f.astype(np.float64)).max() <= top for f in frames
    )
    try:
        results = plain.predict(frames)
    except DataError as err:
        assert not finite and "not finite" in str(err)
        return
    assert finite and len(results) == len(frames)
    for result, frame in zip(results, frames, strict=True):
        _in_frame(result, frame)


@pytest.mark.parametrize(
    "call, error",
    [
        (np.zeros((8, 8), np.uint8), TypeError),  # one frame, not a list of frames
        ("frame.png", TypeError),
        ([np.zeros((8, 8), np.complex64)], TypeError),
        ([np.zeros((8, 8), object)], TypeError),
        (["frame.png"], TypeError),
        ([np.zeros((8, 8, 2), np.uint8)], ValueError),
        ([np.zeros((2, 8, 8, 3), np.uint8)], ValueError),
        ([np.zeros((0, 8), np.uint8)], ValueError),
        ([np.zeros(8, np.uint8)], ValueError),
    ],
)
def test_wrongly_shaped_calls_say_what_is_expected(detectors, call, error) -> None:
    with pytest.raises(error, match="expected|takes a list"):
        detectors[0].predict(call)


# ---------------------------------------------------------------- evaluator
masks = st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(
    lambda hw: st.tuples(
        hnp.arrays(bool, hw),
        hnp.arrays(np.uint8, hw, elements=st.sampled_from([0, 255, 0, 255, 128, 1, 200])),
    )
)


@SOME
@given(masks)
def test_counts_are_consistent(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, mask = pair
    c = image_counts(pred, mask)
    assert c.targets == label_components(mask == 255)[1]
    assert 0 <= c.detected <= c.targets and 0 <= c.intersection <= c.union
    assert c.false_alarm_pixels <= int(pred.sum()) and c.pixels == pred.size
    assert 0.0 <= c.iou <= 1.0
    summary = MetricCounts(
        c.intersection, c.union, c.targets, c.detected, c.false_alarm_pixels, c.pixels, 1
    ).summary()
    assert (summary["Pd"] is None) == (c.targets == 0)


@SOME
@given(st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(lambda hw: hnp.arrays(bool, hw)))
def test_zero_one_masks_read_like_0_255(mask: np.ndarray) -> None:
    assume(mask.any())
    with tempfile.TemporaryDirectory() as tmp:
        Image.fromarray(mask.astype(np.uint8)).save(Path(tmp) / "a.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(Path(tmp) / "b.png")
        (a, note), (b, none) = read_mask_noted(Path(tmp) / "a.png"), read_mask_noted(Path(tmp) / "b.png")
    np.testing.assert_array_equal(a, b)
    assert "0/1 mask" in note and none is None


# ---------------------------------------------------------------- label writers
coords = st.floats(-5, 45, allow_nan=False) | st.sampled_from([float("nan"), float("inf"), 0.0, 32.0])


@FEW
@given(
    size=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    rows=st.lists(st.tuples(st.sampled_from(["a", "b", "zz"]), coords, coords), min_size=1, max_size=12),
)
def test_point_labels_one_pixel_per_point_inside(size: tuple[int, int], rows: list) -> None:
    from lesps_deploy.training.point_import import labels_from_points, point_pixel

    w, h = size
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "DS"
        (root / "images").mkdir(parents=True)
        for name in ("a", "b"):
            Image.fromarray(np.zeros((h, w), np.uint8)).save(root / "images" / f"{name}.png")
        csv = Path(tmp) / "p.csv"
        csv.write_text("image,x,y\n" + "".join(f"{n}.png,{x},{y}\n" for n, x, y in rows))
        try:
            report = labels_from_points(root, csv)
        except LespsError as err:  # the declared refusal: nothing for any image of the dataset
            assert "nothing written" in str(err)
            assert not (root / "masks_centroid").exists()
            return
        for name in ("a", "b"):
            label = np.asarray(Image.open(root / "masks_centroid" / f"{name}.png"))
            expected = {
                point_pixel(x, y, w, h) for n, x, y in rows if n == name and np.isfinite([x, y]).all()
            } - {None}
            assert {tuple(p) for p in np.argwhere(label == 255)} == expected
            assert set(np.unique(label)) <= {0, 255}
        assert report.images == 2
