"""Served-model URLs and the frames a client sends: what reaches the server is what the library sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lesps_deploy.data.images import to_gray
from lesps_deploy.errors import DataError
from lesps_deploy.formats import format_for_path
from lesps_deploy.runtime.triton_backend import wire_frame
from lesps_deploy.urls import is_server_url, parse_server_url

names = st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)


@given(
    st.sampled_from(["http", "grpc"]),
    st.from_regex(r"[a-z0-9.-]{1,15}", fullmatch=True),
    st.integers(1, 65535),
    names,
)
def test_url_round_trips_and_survives_pathlib(protocol, host, port, model):
    text = f"{protocol}://{host}:{port}/{model}"
    for given_as in (text, Path(text)):  # Path collapses '//' (a CLI option typed as Path)
        url = parse_server_url(given_as)
        assert (url.protocol, url.host, url.port, url.model) == (protocol, host, port, model)
        assert str(url) == text and is_server_url(given_as)
        assert format_for_path(given_as).backend == "triton"


@pytest.mark.parametrize("text", ["acm.onnx", "http://host:8000/", "ftp://h/m", "http://h:1/a/b"])
def test_not_a_model_url(text):
    if is_server_url(text):
        with pytest.raises(ValueError, match="HOST:PORT/MODEL"):
            parse_server_url(text)
    else:
        assert not text.startswith(("http", "grpc"))


@given(
    hnp.arrays(st.sampled_from([np.uint8, np.uint16]), hnp.array_shapes(min_dims=2, max_dims=2, max_side=16))
)
def test_gray_integer_frames_are_sent_as_they_are(frame):
    assert wire_frame(frame) is frame


@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([3, 4]))))
def test_colour_and_decoded_frames_carry_the_library_luma(frame):
    wire = wire_frame(frame)
    assert wire.dtype == np.uint8 and np.array_equal(wire, to_gray(frame))
    decoded = to_gray(frame)  # float32 whole values, as read_image gives
    assert np.array_equal(wire_frame(decoded), wire)


def test_fractional_or_negative_values_refused():
    for bad in (np.full((4, 4), 0.5, np.float32), np.full((4, 4), -1.0, np.float32)):
        with pytest.raises(DataError, match="whole uint8 or uint16"):
            wire_frame(bad)
    assert wire_frame(np.full((2, 2), 4000.0, np.float32)).dtype == np.uint16
