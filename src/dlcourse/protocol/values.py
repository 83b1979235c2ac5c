"""Encode check values as plain JSON, decode them strictly, and compare them.

A check records a value computed by the student's code. It crosses from the
student's kernel to the grader as JSON built from a handful of tagged forms,
never as a pickle, so decoding it can run no code:

- ``{"kind": "none"}``
- ``{"kind": "str", "value": "..."}``
- ``{"kind": "array", "dtype": "<f8", "shape": [2, 3], "data": "<base64>"}`` for
  numbers, booleans and arrays of them (a Python scalar is a 0-d array), with
  the raw little-endian bytes, so NaN, infinities and every bit survive;
- ``{"kind": "list", "items": [...]}`` for lists and tuples;
- ``{"kind": "dict", "items": [["key", value], ...]}`` for dicts with string keys.

Anything else (objects, object arrays, sets, non-string keys, integers that
do not fit in 64 bits) is refused when encoding and when decoding.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: dtype kinds a check may record: booleans, signed and unsigned integers,
#: floats and complex numbers.
ALLOWED_KINDS = frozenset("biufc")
#: The largest array a check may record, in bytes; bigger values are a sign of
#: a mistake in the test (record a summary instead) or of a hostile kernel.
MAX_ARRAY_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32


class ValueFormatError(ValueError):
    """A value that cannot be recorded, or a record that is not well formed."""


def _as_array(value: Any) -> np.ndarray:
    """Turn a number, array or framework tensor into a NumPy array, or refuse."""
    if isinstance(value, bool | np.bool_):
        return np.asarray(value, dtype=np.bool_)
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**63:
            raise ValueFormatError(f"integer {value} does not fit in 64 bits")
        return np.asarray(value, dtype=np.int64)
    if isinstance(value, float):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, complex):
        return np.asarray(value, dtype=np.complex128)
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value)
    detach = getattr(value, "detach", None)  # torch tensors, possibly on a GPU
    if callable(detach):
        return np.asarray(detach().cpu().numpy())
    to_numpy = getattr(value, "numpy", None)  # TensorFlow eager tensors
    if callable(to_numpy):
        return np.asarray(to_numpy())
    if hasattr(value, "__array__"):  # JAX arrays and anything else array-like
        return np.asarray(value)
    raise ValueFormatError(f"cannot record a value of type {type(value).__name__}")


def encode(value: Any, *, _depth: int = 0) -> dict:
    """Encode ``value`` in the tagged JSON forms of this module."""
    if _depth > MAX_DEPTH:
        raise ValueFormatError("value is nested too deeply")
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if isinstance(value, list | tuple):
        return {"kind": "list", "items": [encode(v, _depth=_depth + 1) for v in value]}
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueFormatError(f"dict keys must be strings, not {type(key).__name__}")
            items.append([key, encode(item, _depth=_depth + 1)])
        return {"kind": "dict", "items": items}
    array = _as_array(value)
    if array.dtype.kind not in ALLOWED_KINDS:
        raise ValueFormatError(f"cannot record an array of dtype {array.dtype}")
    if array.nbytes > MAX_ARRAY_BYTES:
        raise ValueFormatError(f"array of {array.nbytes} bytes is over {MAX_ARRAY_BYTES}")
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "kind": "array",
        "dtype": little.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii"),
    }


def decode(record: Any, *, _depth: int = 0) -> Any:
    """Decode an encoded value, refusing anything not of this module's forms.

    Arrays come back as NumPy arrays, strings as ``str``, lists as ``list``
    and dicts as ``dict``.
    """
    if _depth > MAX_DEPTH:
        raise ValueFormatError("record is nested too deeply")
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
        raise ValueFormatError("a record must be an object with a 'kind'")
    kind = record["kind"]
    if kind == "none":
        return None
    if kind == "str":
        if not isinstance(record.get("value"), str):
            raise ValueFormatError("a 'str' record needs a string 'value'")
        return record["value"]
    if kind == "list":
        items = record.get("items")
        if not isinstance(items, list):
            raise ValueFormatError("a 'list' record needs a list of 'items'")
        return [decode(item, _depth=_depth + 1) for item in items]
    if kind == "dict":
        items = record.get("items")
        if not isinstance(items, list):
            raise ValueFormatError("a 'dict' record needs a list of 'items'")
        result = {}
        for pair in items:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ValueFormatError("a 'dict' item must be a [string, record] pair")
            if pair[0] in result:
                raise ValueFormatError(f"duplicate dict key {pair[0]!r}")
            result[pair[0]] = decode(pair[1], _depth=_depth + 1)
        return result
    if kind == "array":
        return _decode_array(record)
    raise ValueFormatError(f"unknown record kind {kind!r}")


def _decode_array(record: dict) -> np.ndarray:
    dtype_text, shape, data = record.get("dtype"), record.get("shape"), record.get("data")
    if not isinstance(dtype_text, str) or not isinstance(data, str) or not isinstance(shape, list):
        raise ValueFormatError("an 'array' record needs 'dtype', 'shape' and 'data'")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError as error:
        raise ValueFormatError(f"unknown dtype {dtype_text!r}") from error
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueFormatError(f"dtype {dtype_text!r} is not allowed")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ValueFormatError("an array's shape must be non-negative integers")
    count = math.prod(shape)
    if count * dtype.itemsize > MAX_ARRAY_BYTES:
        raise ValueFormatError("array record is too large")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError as error:
        raise ValueFormatError("array data is not valid base64") from error
    if len(raw) != count * dtype.itemsize:
        raise ValueFormatError("array data does not match its dtype and shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


MAX_HINT_CHARACTERS = 500


def validate_hint(hint: Any) -> str | dict[str, str]:
    """Return a check's ``hint`` if it is a short message or a dict of them, else raise
    ``ValueError`` (:func:`dlcourse.checks.check` documents hints)."""
    def message(text: Any) -> str:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_HINT_CHARACTERS:
            raise ValueError(f"a hint is a non-empty string of at most {MAX_HINT_CHARACTERS} "
                             f"characters, not {text!r:.60}")
        return text

    if isinstance(hint, dict):
        if not hint or not all(isinstance(k, str) for k in hint):
            raise ValueError("a dict of hints needs string keys")
        return {key: message(text) for key, text in hint.items()}
    return message(hint)


def describe(value: Any) -> str:
    """A short description of a decoded value's type, never its content."""
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {tuple(value.shape)}"
    return type(value).__name__


@dataclass(frozen=True)
class Difference:
    """Where a recorded value first differs from the key's, and how.

    ``where`` is the path of keys and indices from the top of the value
    (empty for the value itself); ``what`` is the kind of difference, never
    the expected content.
    """

    where: tuple[str | int, ...]
    what: str
    #: what the student's own value shows there ("3 of 40 values are off; the first, at
    #: index (2, 1), is 0.312 in yours"): their work, never the key's
    yours: str = ""

    def path(self, root: str = "value") -> str:
        return root + "".join(f"[{part!r}]" for part in self.where)


def difference(expected: Any, actual: Any, *, rtol: float, atol: float,
               where: tuple[str | int, ...] = ()) -> Difference | None:
    """Compare two decoded values; return ``None`` if they match, else the first difference.

    Numbers compare with ``|actual - expected| <= atol + rtol * |expected|``
    (NaN matches NaN); booleans must be booleans and strings must be equal.
    """
    def differs(what: str, yours: str = "") -> Difference:
        return Difference(where, what, yours)

    if isinstance(expected, np.ndarray):
        if not isinstance(actual, np.ndarray):
            return differs(f"expected a number or array, got {describe(actual)}")
        if (expected.dtype.kind == "b") != (actual.dtype.kind == "b"):
            return differs(f"expected {describe(expected)}, got {describe(actual)}")
        if expected.shape != actual.shape:
            return differs(f"expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}")
        if expected.dtype.kind == "b":
            same = np.array_equal(expected, actual)
        else:
            same = bool(np.all(np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)))
        return None if same else differs("values differ from the expected ones",
                                         _off_values(expected, actual, rtol, atol))
    if isinstance(expected, str) or expected is None:
        if type(actual) is not type(expected):
            return differs(f"expected {type(expected).__name__}, got {describe(actual)}")
        return None if actual == expected else differs("differs from the expected value",
                                                       f"your answer is {_short(actual)}")
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return differs(f"expected a list, got {describe(actual)}")
        if len(actual) != len(expected):
            return differs(f"expected {len(expected)} items, got {len(actual)}")
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = difference(e, a, rtol=rtol, atol=atol, where=(*where, index))
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return differs(f"expected a dict, got {describe(actual)}")
        if set(actual) != set(expected):
            return differs("the keys differ from the expected ones")
        for name in expected:
            found = difference(expected[name], actual[name], rtol=rtol, atol=atol,
                               where=(*where, name))
            if found:
                return found
        return None
    raise ValueFormatError(f"cannot compare a key value of type {type(expected).__name__}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _off_values(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float) -> str:
    """Where the student's array is off, in terms of their own values only."""
    if expected.dtype.kind == "b":
        off = expected != actual
    else:
        off = ~np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    count, total = int(off.sum()), off.size
    if actual.ndim == 0:
        return f"your answer is {_short(actual.item())}"
    first = tuple(int(i) for i in np.argwhere(off)[0])
    index = first[0] if len(first) == 1 else first
    mine = actual[first].item()
    nan = " (nan: a division by zero or an overflow?)" if isinstance(mine, float) and \
        mine != mine else ""
    return (f"{count} of {total} values are off; the first, at index {index}, is "
            f"{_short(mine)} in yours{nan}")


def mismatch(expected: Any, actual: Any, *, rtol: float, atol: float,
             path: str = "value") -> str | None:
    """Compare two decoded values; return ``None`` if they match, else why not.

    The reason names the place (as an index path from ``path``) and the kind
    of difference (type, shape, length, keys, values), never the expected
    content. For a student's feedback, :func:`difference` gives the parts
    separately.
    """
    found = difference(expected, actual, rtol=rtol, atol=atol)
    if found is None:
        return None
    return f"{found.path(path)}: {found.what}" + (f" ({found.yours})" if found.yours else "")
