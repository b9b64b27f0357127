"""Reader for dlib's binary serialisation format (the `.dat` model files).

dlib writes every value through a handful of primitives (see dlib's ``serialize.h`` and
``dnn/tensor.h``); this module implements exactly those, reading from an in-memory buffer and
tracking the byte offset so that every failure can say *where* the file stopped making sense:

- integers: one control byte (low 4 bits = number of value bytes, bit 7 = negative, the
  other bits zero), then the magnitude's bytes little-endian; zero is ``01 00``;
- floating point values: an integer mantissa followed by an integer exponent, value
  ``m * 2**e``; exponents 32000/32001/32002 encode +inf/-inf/NaN;
- strings: a length then the raw bytes;  bools: the ASCII characters ``'1'`` / ``'0'``;
- dnn tensors: version 2, four dims (N, K, R, C), then N*K*R*C little-endian float32;
- alias tensors (views into a layer's parameter tensor): version 1 and four dims.

`DatFormatError` carries the offset; `DatReader.finish()` refuses trailing bytes, so a
truncated, extended or altered file is rejected instead of silently producing a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DatFormatError", "DatReader", "AliasTensor"]

_FLOAT_INF, _FLOAT_NINF, _FLOAT_NAN = 32000, 32001, 32002


class DatFormatError(ValueError):
    """A `.dat` file does not have the structure the parser expects.

    ``offset`` is the byte offset (from the start of the file) at which the problem was found.
    """

    def __init__(self, message: str, offset: int, source: str = "") -> None:
        self.offset = int(offset)
        self.source = source
        self.reason = message
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{message} (at byte offset {self.offset})")


@dataclass(frozen=True)
class AliasTensor:
    """Shape of a dlib ``alias_tensor`` (a view into a parameter tensor)."""

    n: int
    k: int
    nr: int
    nc: int

    @property
    def size(self) -> int:
        return self.n * self.k * self.nr * self.nc

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.k, self.nr, self.nc)


class DatReader:
    """Sequential reader over the bytes of one dlib-serialised object."""

    def __init__(self, data: bytes, source: str = "") -> None:
        self.data = memoryview(bytes(data))
        self.offset = 0
        self.source = source

    # -- errors -----------------------------------------------------------------------------
    def error(self, message: str, offset: int | None = None) -> DatFormatError:
        return DatFormatError(message, self.offset if offset is None else offset, self.source)

    def _take(self, n: int, what: str) -> memoryview:
        if n < 0:
            raise self.error(f"negative length {n} for {what}")
        end = self.offset + n
        if end > len(self.data):
            raise self.error(
                f"file truncated: {what} needs {n} byte(s) but only "
                f"{len(self.data) - self.offset} remain"
            )
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def finish(self) -> None:
        """Refuse trailing bytes after the last expected value."""
        if self.remaining:
            raise self.error(f"{self.remaining} unexpected trailing byte(s) after the model")

    # -- primitives -------------------------------------------------------------------------
    def int(self, what: str = "integer") -> int:
        start = self.offset
        control = self._take(1, what)[0]
        size = control & 0x0F
        if control & 0x70 or size > 8:
            raise self.error(f"invalid integer control byte 0x{control:02x} for {what}", start)
        raw = bytes(self._take(size, what))
        value = int.from_bytes(raw, "little", signed=False)
        return -value if control & 0x80 else value

    def float(self, what: str = "float") -> float:
        start = self.offset
        mantissa = self.int(f"{what} (mantissa)")
        exponent = self.int(f"{what} (exponent)")
        if not -32768 <= exponent <= 32767:
            raise self.error(f"float exponent {exponent} out of range for {what}", start)
        if exponent == _FLOAT_INF:
            return math.inf
        if exponent == _FLOAT_NINF:
            return -math.inf
        if exponent == _FLOAT_NAN:
            return math.nan
        return math.ldexp(float(mantissa), exponent)

    def string(self, what: str = "string", max_len: int = 1 << 16) -> str:
        n = self.int(f"{what} (length)")
        if not 0 <= n <= max_len:
            raise self.error(f"implausible length {n} for {what}")
        raw = bytes(self._take(n, what))
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.error(f"non-ASCII bytes in {what}", self.offset - n) from None

    def bool(self, what: str = "bool") -> bool:
        start = self.offset
        ch = bytes(self._take(1, what))
        if ch == b"1":
            return True
        if ch == b"0":
            return False
        raise self.error(f"invalid bool byte {ch!r} for {what}", start)

    # -- checked helpers ---------------------------------------------------------------------
    def expect_int(self, expected, what: str) -> int:
        start = self.offset
        value = self.int(what)
        allowed = expected if isinstance(expected, (tuple, list, set, frozenset)) else (expected,)
        if value not in allowed:
            raise self.error(f"unexpected {what}: {value} (expected {' or '.join(map(str, allowed))})", start)
        return value

    def expect_string(self, expected, what: str) -> str:
        start = self.offset
        value = self.string(what)
        allowed = expected if isinstance(expected, (tuple, list, set, frozenset)) else (expected,)
        if value not in allowed:
            raise self.error(f"unexpected {what}: {value!r} (expected {' or '.join(map(repr, allowed))})", start)
        return value

    def peek_string(self) -> str | None:
        """The string at the current offset if one plausibly starts here, without consuming."""
        saved = self.offset
        try:
            n = self.int()
            if not 1 <= n <= 64 or n > self.remaining:
                return None
            raw = bytes(self.data[self.offset:self.offset + n])
            if not all(0x20 < b < 0x7F for b in raw):
                return None
            return raw.decode("ascii")
        except DatFormatError:
            return None
        finally:
            self.offset = saved

    # -- dnn containers ---------------------------------------------------------------------
    def tensor(self, what: str = "tensor", max_elems: int = 1 << 28) -> np.ndarray:
        start = self.offset
        self.expect_int(2, f"{what} version")
        dims = [self.int(f"{what} dim {i}") for i in range(4)]
        if any(d < 0 for d in dims):
            raise self.error(f"negative dimension in {what}: {dims}", start)
        count = dims[0] * dims[1] * dims[2] * dims[3]
        if count > max_elems:
            raise self.error(f"implausible size {dims} for {what}", start)
        raw = self._take(4 * count, f"{what} data ({count} float32)")
        arr = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)
        if not np.all(np.isfinite(arr)):
            raise self.error(f"non-finite values in {what}", start)
        return arr

    def alias_tensor(self, what: str = "alias tensor") -> AliasTensor:
        self.expect_int(1, f"{what} version")
        dims = [self.int(f"{what} dim {i}") for i in range(4)]
        if any(d < 0 for d in dims):
            raise self.error(f"negative dimension in {what}: {dims}")
        return AliasTensor(*dims)

    def empty_tensor(self, what: str) -> None:
        """A tensor that must be empty (cached outputs / gradients of a saved network)."""
        start = self.offset
        t = self.tensor(what)
        if t.size:
            raise self.error(f"{what} should be empty but holds {t.shape}", start)

    # -- matrices and vectors (non-dnn objects, e.g. the shape predictor) -------------------
    def float_matrix(self, what: str = "matrix") -> np.ndarray:
        """``dlib::matrix<float>``: rows, cols (written negated by newer dlib), then values."""
        start = self.offset
        nr = self.int(f"{what} rows")
        nc = self.int(f"{what} cols")
        nr, nc = abs(nr), abs(nc)
        if nr * nc > 1 << 24:
            raise self.error(f"implausible matrix size {nr}x{nc} for {what}", start)
        vals = [self.float(what) for _ in range(nr * nc)]
        return np.asarray(vals, dtype=np.float64).reshape(nr, nc)
