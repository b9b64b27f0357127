"""The `.dat` reader: dlib's primitives, and refusal of truncated or altered files with an
error that names the byte offset."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from reference.face.dlib.serialize import DatFormatError, DatReader


def test_integer_encoding():
    r = DatReader(bytes([0x01, 0x00, 0x01, 0x02, 0x81, 0x0A, 0x02, 0xC0, 0x04]))
    assert [r.int(), r.int(), r.int(), r.int()] == [0, 2, -10, 1216]
    r.finish()


def test_float_is_mantissa_then_exponent():
    # 0.04 as dlib writes it: mantissa 10737418 (3 bytes), exponent -28
    r = DatReader(bytes([0x03, 0x0A, 0xD7, 0xA3, 0x81, 0x1C]))
    assert r.float() == pytest.approx(0.04, rel=1e-7)
    assert math.isinf(DatReader(bytes([0x01, 0x00, 0x02, 0x00, 0x7D])).float())   # exp 32000


def test_tensor_and_bool():
    data = bytes([0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01, 0x01])
    data += np.array([1.5, -2.0], dtype="<f4").tobytes() + b"10"
    r = DatReader(data)
    t = r.tensor()
    assert t.shape == (1, 2, 1, 1) and t.ravel().tolist() == [1.5, -2.0]
    assert r.bool() is True and r.bool() is False
    r.finish()


def test_bad_control_byte_names_offset():
    r = DatReader(bytes([0x01, 0x00, 0x31, 0x00]), "x.dat")
    r.int()
    with pytest.raises(DatFormatError) as exc:
        r.int()
    assert exc.value.offset == 2 and "offset 2" in str(exc.value) and "x.dat" in str(exc.value)


def _offset(exc: DatFormatError) -> int:
    assert re.search(r"byte offset \d+", str(exc))
    return exc.offset


def test_truncated_recogniser_is_refused(dat_sources):
    from reference.face.dlib.recognition import parse_recognition

    data = dat_sources["recognition"].read_bytes()
    cut = len(data) // 2
    with pytest.raises(DatFormatError) as exc:
        parse_recognition(data[:cut])
    assert "truncated" in str(exc.value)
    assert 0 < _offset(exc.value) <= cut


def test_extended_recogniser_is_refused(dat_sources):
    from reference.face.dlib.recognition import parse_recognition

    data = dat_sources["recognition"].read_bytes()
    with pytest.raises(DatFormatError) as exc:
        parse_recognition(data + b"\x01\x00")
    assert "trailing" in str(exc.value) and _offset(exc.value) == len(data)


def test_altered_layer_name_is_refused(dat_sources):
    from reference.face.dlib.recognition import parse_recognition

    data = bytearray(dat_sources["recognition"].read_bytes())
    pos = data.index(b"max_pool_2")
    data[pos:pos + 10] = b"avg_pool_2"          # same length, wrong layer kind
    with pytest.raises(DatFormatError) as exc:
        parse_recognition(bytes(data))
    assert "max_pool" in str(exc.value)
    assert _offset(exc.value) == pos - 2        # the layer starts at the string length (01 0a)


def test_altered_tensor_dimension_is_refused(dat_sources):
    from reference.face.dlib.detector import parse_detector

    data = bytearray(dat_sources["detector"].read_bytes())
    pos = data.index(b"con_4") + 5              # params tensor: 01 02 | 02 c0 04 (1216 values)
    assert bytes(data[pos:pos + 5]) == bytes([0x01, 0x02, 0x02, 0xC0, 0x04])
    data[pos + 3] = 0xC1                        # 1217 values: every later field shifts
    with pytest.raises(DatFormatError) as exc:
        parse_detector(bytes(data))
    assert _offset(exc.value) > pos


def test_truncated_shape_predictor_is_refused(dat_sources):
    from reference.face.dlib.landmarks import parse_shape_predictor

    data = dat_sources["landmarks"].read_bytes()
    cut = len(data) - 1000
    with pytest.raises(DatFormatError) as exc:
        parse_shape_predictor(data[:cut])
    assert "truncated" in str(exc.value) and _offset(exc.value) <= cut


def test_68_point_predictor_is_rejected_by_the_5_point_parser(dat_sources):
    from reference.face.dlib.landmarks import parse_shape_predictor

    big = dat_sources["landmarks"].with_name("shape_predictor_68_face_landmarks.dat")
    if not big.is_file():
        pytest.skip("68-point file not shipped")
    with big.open("rb") as f:
        head = f.read(4096)
    with pytest.raises(DatFormatError) as exc:
        parse_shape_predictor(head)
    assert "68 landmarks, expected 5" in str(exc.value)
