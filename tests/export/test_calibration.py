"""Calibration batch feeding (CPU side of INT8) and the strongly typed graph passes (FP16, Q/DQ)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from lesps_deploy.data import Norm, find_image, normalize, read_image
from lesps_deploy.export.calibration import CalibrationBatches, amax_entropy, amax_minmax, calibration_files
from lesps_deploy.export.graph_passes import calibrate_conv_inputs, convert_to_fp16, insert_qdq
from lesps_deploy.export.onnx import export_onnx

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


def test_amax():
    x = np.concatenate([np.random.default_rng(0).normal(0, 1, 100_000), [40.0]])
    assert amax_minmax(x) == 40.0
    hist, edges = np.histogram(np.abs(x), bins=2048, range=(0, 40.0))
    clip = amax_entropy(hist, edges)
    assert 2.0 < clip < 20.0  # the single outlier is clipped away


@pytest.fixture
def tiny_onnx(tmp_path, tiny):
    module, meta = tiny
    return module, onnx.load(str(export_onnx(module, meta, tmp_path / "t.onnx", imgsz=(64, 64))))


def _run(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_fp16_pass_keeps_float32_io(tiny_onnx):
    module, proto = tiny_onnx
    half = convert_to_fp16(proto)
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert half.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    conv_w = {i.name: i.data_type for i in half.graph.initializer}
    assert onnx.TensorProto.FLOAT16 in conv_w.values()
    x = np.random.default_rng(0).standard_normal((2, 1, 96, 64)).astype(np.float32)
    ref = module(torch.from_numpy(x)).detach().numpy()
    assert np.abs(_run(half, x) - ref).max() < 2e-3


@pytest.mark.parametrize("method", ["minmax", "entropy"])
def test_qdq_pass(tiny_onnx, image_folder, method):
    module, proto = tiny_onnx
    batches = CalibrationBatches(calibration_files(image_folder, 5), NORM, 2, (64, 64))
    amax = calibrate_conv_inputs(proto, batches, method)
    assert set(amax) == {"input", "/Relu_output_0"} and all(v > 0 for v in amax.values())
    q = insert_qdq(proto, amax)
    ops = [n.op_type for n in q.graph.node]
    assert ops.count("QuantizeLinear") == 4 and ops.count("DequantizeLinear") == 4  # 2 activations, 2 weights
    x = next(iter(batches))
    ref = module(torch.from_numpy(x)).detach().numpy()
    assert np.abs(_run(q, x) - ref).max() < 0.25  # toy net on noise frames: coarse, but quantized
