"""dlcourse.protocol.values: encoding is exact and strict, comparison says why."""

import json

import numpy as np
import pytest

from dlcourse.protocol import values


def roundtrip(value):
    return values.decode(json.loads(json.dumps(values.encode(value))))


@pytest.mark.parametrize("value", [
    0, -3, 2**62, 1.5, float("nan"), float("inf"), True, "b", None, 1 + 2j,
    [1, "a", [2.0, None]], (1, 2), {"a": 1, "b": [True, False]},
])
def test_plain_values_survive_a_json_roundtrip(value):
    def plain(decoded):  # back to Python values, independently of the codec
        if isinstance(decoded, np.ndarray):
            return decoded.tolist()
        if isinstance(decoded, list):
            return [plain(item) for item in decoded]
        if isinstance(decoded, dict):
            return {key: plain(item) for key, item in decoded.items()}
        return decoded

    def same(a, b):  # NaN equals NaN; a tuple is recorded as a list
        if isinstance(b, (list, tuple)):
            return isinstance(a, list) and len(a) == len(b) and all(map(same, a, b))
        if isinstance(b, dict):
            return isinstance(a, dict) and a.keys() == b.keys() and all(
                same(a[k], b[k]) for k in b)
        if isinstance(b, float) and b != b:
            return isinstance(a, float) and a != a
        return type(a) is type(b) and a == b

    assert same(plain(roundtrip(value)), value), (value, roundtrip(value))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "uint16", "int64",
                                   "bool", "complex64"])
def test_arrays_keep_dtype_shape_and_bits(dtype):
    array = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    decoded = roundtrip(array)
    assert decoded.dtype == array.dtype and decoded.shape == (3, 4)
    assert np.array_equal(decoded, array)


def test_big_endian_arrays_are_stored_little_endian():
    array = np.arange(4, dtype=">f8")
    assert np.array_equal(roundtrip(array), array)


def test_torch_tensors_are_recorded_as_arrays():
    torch = pytest.importorskip("torch")
    tensor = torch.arange(6, dtype=torch.float32, requires_grad=True).reshape(2, 3) * 2
    decoded = roundtrip(tensor)
    assert decoded.dtype == np.float32 and np.array_equal(decoded, tensor.detach().numpy())


@pytest.mark.parametrize("value", [object(), {1: "a"}, {"a"}, 2**64, np.array([object()]),
                                   np.array(["text"]), np.zeros(values.MAX_ARRAY_BYTES)])
def test_values_a_check_cannot_record_are_refused(value):
    with pytest.raises(values.ValueFormatError):
        values.encode(value)


@pytest.mark.parametrize("record", [
    None, [], {"kind": "pickle", "data": "gASV"}, {"kind": "str", "value": 3},
    {"kind": "array", "dtype": "O", "shape": [1], "data": ""},
    {"kind": "array", "dtype": "<f8", "shape": [2], "data": "AAAA"},
    {"kind": "array", "dtype": "<f8", "shape": [-1], "data": ""},
    {"kind": "array", "dtype": "<f8", "shape": [1], "data": "not base64!"},
    {"kind": "array", "dtype": "[('a', '<f8')]", "shape": [1], "data": "AAAAAAAAAAA="},
    {"kind": "dict", "items": [["a", {"kind": "none"}], ["a", {"kind": "none"}]]},
    {"kind": "list", "items": {"kind": "none"}},
])
def test_malformed_records_are_refused(record):
    with pytest.raises(values.ValueFormatError):
        values.decode(record)


def test_deep_nesting_is_refused():
    record = {"kind": "none"}
    for _ in range(values.MAX_DEPTH + 2):
        record = {"kind": "list", "items": [record]}
    with pytest.raises(values.ValueFormatError):
        values.decode(record)


def compare(expected, actual, rtol=1e-5, atol=1e-8):
    return values.mismatch(roundtrip(expected), roundtrip(actual), rtol=rtol, atol=atol)


def test_numbers_match_within_tolerance_only():
    assert compare(1.0, 1.0 + 1e-7) is None
    assert "differ" in compare(1.0, 1.001)
    assert compare(3, 3.0) is None  # an int answer may come back as a float
    assert compare(float("nan"), float("nan")) is None
    assert compare(1.0, float("nan")) is not None


def test_booleans_strings_and_shapes_must_match_exactly():
    assert compare(True, 1) is not None
    assert compare("b", "B") is not None
    assert "shape" in compare(np.zeros((2, 3)), np.zeros((3, 2)))
    assert "shape" in compare(np.zeros(3), np.zeros((1, 3)))
    assert compare("3", 3) is not None
    assert compare(None, 0) is not None


def test_containers_compare_item_by_item_and_name_the_place():
    assert "[1]" in compare([1, 2], [1, 3])
    assert "items" in compare([1, 2], [1, 2, 3])
    assert "keys" in compare({"a": 1}, {"b": 1})
    assert compare({"a": [1.0, "x"]}, {"a": [1.0, "x"]}) is None


def test_a_mismatch_message_never_contains_the_expected_value():
    message = compare({"secret": 123456.0}, {"secret": 1.0})
    assert "123456" not in message
