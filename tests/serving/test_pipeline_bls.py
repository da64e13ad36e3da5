"""The `<name>_pipeline` kind on a real server: frames in, the network called as another Triton model.

The pip-installed server has no onnxruntime backend, so `<name>_net` is served here by a stand-in Python
model running the same ONNX file (same inputs, outputs and batching); the pipeline's calls to it, the
tensors crossing between models and the tiles of a large frame are all real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import require_serve_extra  # noqa: E402

require_serve_extra()

from lesps_deploy.export import ExportConfig, export  # noqa: E402
from lesps_deploy.runtime.detector import Detector  # noqa: E402
from lesps_deploy.serving.serve import models_to_load  # noqa: E402
from lesps_deploy.serving.server import ServerPorts, TritonServer, free_ports  # noqa: E402

STAND_IN = """
import json
import sys

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        previous = sys.unraisablehook  # the stub's DLPack capsule noise (see serving.python_model)
        sys.unraisablehook = lambda u: None if "PyCapsule_GetPointer" in str(u.exc_value) else previous(u)
        self.names = config["input"][0]["name"], config["output"][0]["name"]
        path = f"{args['model_repository']}/{args['model_version']}/model.onnx"
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def execute(self, requests):
        inp, out = self.names
        responses = []
        for request in requests:
            x = np.from_dlpack(pb_utils.get_input_tensor_by_name(request, inp))
            y = np.ascontiguousarray(self.session.run([out], {inp: x})[0])
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor.from_dlpack(out, y.__dlpack__())]))
        return responses
"""


def test_pipeline_calls_the_network_model(tmp_path, acm_onnx, nuaa_dir):
    from lesps_deploy.data.images import read_image

    repo = tmp_path / "repo"
    export(ExportConfig(acm_onnx, "triton", out=repo))
    net = repo / "acm_net"
    config = (net / "config.pbtxt").read_text()
    (net / "config.pbtxt").write_text(config.replace('platform: "onnxruntime_onnx"', 'backend: "python"'))
    (net / "1" / "model.py").write_text(STAND_IN)
    assert models_to_load(repo, "acm_pipeline") == ["acm_net", "acm_pipeline"]

    names = (nuaa_dir / "img_idx" / "test_NUAA-SIRST.txt").read_text().split()[:3]
    frames = [read_image(nuaa_dir / "images" / f"{n}.png") for n in names]
    rng = np.random.default_rng(0)
    big = rng.normal(90, 8, (1100, 1090)).clip(0, 255).astype(np.uint8)  # both sides > 1024: tiles
    big[500:503, 700:703] = 240
    frames.append(big)
    with Detector(acm_onnx, warmup=False) as local:
        expected = local.predict(frames)

    http, grpc, metrics = free_ports(3)
    ports = ServerPorts("127.0.0.1", http, grpc, metrics)
    log = tmp_path / "server.log"
    with TritonServer(repo, models_to_load(repo, "acm_pipeline"), ports, log_file=log) as server:
        server.start()
        server.wait_ready(180)
        with Detector(f"grpc://127.0.0.1:{grpc}/acm_pipeline", warmup=False) as served:
            got = served.predict(frames)
    for a, b in zip(got, expected, strict=True):
        assert a.prob.shape == b.prob.shape
        np.testing.assert_allclose(a.prob, b.prob, atol=1e-5)
        assert [t.to_dict() for t in a.targets] == [t.to_dict() for t in b.targets]
    assert any(r.targets for r in expected)
    assert not Path(log).read_text().count("Traceback")
