"""Calibration frames (CPU side of INT8) and the FP16 / QDQ INT8 graphs built with ONNX Runtime's tools."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from lesps_deploy.data import FrameMapper, Norm, find_image, normalize, read_image
from lesps_deploy.export.calibration import CalibrationBatches, calibration_files
from lesps_deploy.export.onnx import module_to_onnx
from lesps_deploy.export.quantize import CalibrationSpec, FrameReader, quantize_int8, to_fp16
from lesps_deploy.runtime.processing import preprocess

NORM = Norm(95.0, 41.5)


def test_batches_match_inference_preprocessing(image_folder, caplog):
    files = calibration_files(image_folder, limit=300)
    assert [f.stem for f in files] == [f"f{i}" for i in range(5)]
    assert "unreliable" in caplog.text  # 5 < 300 images
    batches = CalibrationBatches(files, NORM, batch=2, imgsz=(64, 64))
    out = list(batches)
    assert len(out) == len(batches) == 3
    assert all(b.shape == (2, 1, 64, 64) and b.dtype == np.float32 for b in out)
    first = normalize(read_image(find_image(image_folder, "f0")), NORM)  # 40x50: padded with zeros
    np.testing.assert_array_equal(out[0][0, 0, :40, :50], first)
    assert not out[0][0, 0, 40:].any() and not out[0][0, 0, :, 50:].any()
    big = normalize(read_image(find_image(image_folder, "f4")), NORM)  # 80x90: cropped top-left
    np.testing.assert_array_equal(out[2][0, 0], big[:64, :64])
    np.testing.assert_array_equal(out[2][1], out[0][0])  # last batch filled from the start


def test_16bit_calibration_frames_are_mapped_like_inference(tmp_path):
    """16-bit frames calibrate an 8-bit model through the same mapping as inference (agc by default)."""
    from PIL import Image

    from lesps_deploy.data import FrameMapper, map_frame

    v16 = (np.arange(64 * 64).reshape(64, 64) * 7 + 3000).astype(np.uint16)
    Image.fromarray(v16).save(tmp_path / "t.png")
    default = next(iter(CalibrationBatches([tmp_path / "t.png"], NORM, 1, (64, 64))))
    np.testing.assert_array_equal(default[0, 0], normalize(map_frame(v16, 16, 8, "agc"), NORM))
    scaled = CalibrationBatches([tmp_path / "t.png"], NORM, 1, (64, 64), FrameMapper(8, "scale"))
    np.testing.assert_array_equal(next(iter(scaled))[0, 0], normalize(map_frame(v16, 16, 8, "scale"), NORM))


def test_limit_and_no_split(image_folder):
    (image_folder / "img_idx" / "train_calib.txt").unlink()
    assert len(calibration_files(image_folder, limit=3)) == 3


@pytest.fixture
def tiny_onnx(tmp_path, tiny):
    module, meta = tiny
    return module, onnx.load(str(module_to_onnx(module, meta, tmp_path / "t.onnx", imgsz=(64, 64))))


def _run(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_fp16_keeps_float32_io_and_metadata(tiny_onnx):
    module, proto = tiny_onnx
    half = to_fp16(proto)
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert half.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert onnx.TensorProto.FLOAT16 in {i.data_type for i in half.graph.initializer}
    assert {p.key: p.value for p in half.metadata_props} == {p.key: p.value for p in proto.metadata_props}
    x = np.random.default_rng(0).standard_normal((2, 1, 96, 64)).astype(np.float32)
    ref = module(torch.from_numpy(x)).detach().numpy()
    assert np.abs(_run(half, x) - ref).max() < 2e-3


def test_reader_feeds_inference_inputs(image_folder):
    files = calibration_files(image_folder, 5)
    reader = FrameReader(files, NORM, FrameMapper(), "input", 32)
    assert len(reader) == 5
    first = reader.get_next()["input"]
    np.testing.assert_array_equal(first, preprocess(read_image(files[0]), NORM, 32)[None])
    assert first.shape == (1, 1, 64, 64)  # 40x50 padded like inference: (h//32+1)*32
    reader.set_range(4, 5)
    assert reader.get_next()["input"].shape == (1, 1, 96, 96) and reader.get_next() is None


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_qdq_int8(tmp_path, tiny_onnx, image_folder, method):
    module, proto = tiny_onnx
    src = tmp_path / "t.onnx"
    files = calibration_files(image_folder, 5)
    spec = CalibrationSpec(method, 99.9, len(files), "train", image_folder.name)
    cache = tmp_path / "ranges.json"
    q = onnx.load(
        str(
            quantize_int8(
                src, tmp_path / "q.onnx", FrameReader(files, NORM, FrameMapper(), "input", 32), spec, cache
            )
        )
    )
    ops = [n.op_type for n in q.graph.node]
    # Conv inputs only are quantized (2 activations), weights and biases stored quantized (4 DQ only)
    assert ops.count("QuantizeLinear") == 2 and ops.count("DequantizeLinear") == 6
    zeros = [i for i in q.graph.initializer if i.name.endswith("zero_point")]
    assert zeros and all(not onnx.numpy_helper.to_array(z).any() for z in zeros)
    x = preprocess(read_image(files[1]), NORM, 32)[None]
    ref = module(torch.from_numpy(x)).detach().numpy()
    assert np.abs(_run(q, x) - ref).max() < 0.25  # toy net on noise frames: coarse, but quantized
    assert cache.is_file()  # ranges kept: a second quantization skips calibration
    again = quantize_int8(
        src, tmp_path / "q2.onnx", FrameReader([], NORM, FrameMapper(), "input", 32), spec, cache
    )
    np.testing.assert_array_equal(_run(onnx.load(str(again)), x), _run(q, x))


def test_quantizer_without_ranges_cache_is_named():
    from onnxruntime.quantization import quantize_static

    from lesps_deploy.errors import ExportError
    from lesps_deploy.export.quantize import _require_calibration_cache

    def quantize_static_1_24(model_input, model_output, calibration_data_reader, quant_format=None):
        """The signature of onnxruntime 1.24's quantize_static, which has no calibration_cache_path."""

    with pytest.raises(ExportError, match=r"onnxruntime >= 1\.27 \(installed: "):
        _require_calibration_cache(quantize_static_1_24)
    _require_calibration_cache(quantize_static)  # the installed one has it


def test_quantizer_version_is_recorded():
    spec = CalibrationSpec("minmax", 99.9, 3, "train", "toy")
    assert spec.to_dict()["quantizer"] == f"onnxruntime {ort.__version__}"
