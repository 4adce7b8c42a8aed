"""TFRecord files without TensorFlow: the record framing, CRC32-C, and the ``tf.train.Example``
protobuf wire format, written by hand for exactly the messages these files hold.

Why our own: TensorFlow is a multi-gigabyte dependency for what is, on disk, a simple format. A
TFRecord file is a sequence of records, each::

    uint64 length (little-endian)
    uint32 masked CRC32-C of those 8 bytes
    bytes  data[length]
    uint32 masked CRC32-C of data

and each record's data is a serialized ``tf.train.Example``::

    Example   { Features features = 1; }
    Features  { map<string, Feature> feature = 1; }      // entries: key = 1, value = 2
    Feature   { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }   // float32
    Int64List { repeated int64 value = 1 [packed = true]; }

The decoder accepts what any protobuf parser accepts for these messages (packed and unpacked
repeated numbers, unknown fields skipped, a map key given twice: the last wins); the encoder
writes what TensorFlow writes (packed numbers, a present-but-empty list kept as such).

CRC32-C: ``google_crc32c`` or ``crc32c`` (C implementations) are used when one of them can be
imported; they are not dependencies of streamscope. Otherwise a numpy implementation computes it
(the data split into lanes stepped together through the byte table, then combined with the
CRC's zero-extension operator), about 20 ms per MiB; short inputs use a plain table loop.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, BinaryIO, Iterable, Iterator, Optional, Sequence

import numpy as np

# ---- CRC32-C ---------------------------------------------------------------------------------

_POLY = 0x82F63B78  # CRC32-C (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8


def _byte_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _byte_table()
_TABLE_NP = np.array(_TABLE, dtype=np.uint32)


def _raw_python(register: int, data: bytes) -> int:
    """The CRC register after ``data`` (no initial or final inversion)."""
    table = _TABLE
    for b in data:
        register = table[(register ^ b) & 0xFF] ^ (register >> 8)
    return register


def _tables_from_images(images: np.ndarray) -> np.ndarray:
    """Lookup tables (4 x 256) of the GF(2)-linear map on 32-bit registers whose images of the
    basis bits ``1 << i`` are ``images[i]``."""
    v = np.arange(256)
    tables = np.zeros((4, 256), dtype=np.uint32)
    for b in range(4):
        for i in range(8):
            tables[b][((v >> i) & 1) == 1] ^= images[8 * b + i]
    return tables


def _apply(tables: np.ndarray, x: np.ndarray) -> np.ndarray:
    return tables[0][x & 0xFF] ^ tables[1][(x >> 8) & 0xFF] ^ tables[2][(x >> 16) & 0xFF] ^ tables[3][x >> 24]


_BASIS = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)


@lru_cache(maxsize=None)
def _power_images(j: int) -> np.ndarray:
    """Images of the basis under ``Z^(2**j)``: the register after ``2**j`` zero bytes."""
    if j == 0:
        return (_TABLE_NP[_BASIS & 0xFF] ^ (_BASIS >> 8)).astype(np.uint32)
    previous = _power_images(j - 1)
    return _apply(_tables_from_images(previous), previous)


@lru_cache(maxsize=256)
def _zero_extension(n: int) -> np.ndarray:
    """Tables of ``Z^n``: what ``n`` zero bytes do to the register."""
    images = _BASIS.copy()
    j = 0
    while n:
        if n & 1:
            images = _apply(_tables_from_images(_power_images(j)), images)
        n >>= 1
        j += 1
    return _tables_from_images(images)


def _raw_numpy_from_zero(data: bytes) -> int:
    """The register after ``data`` from 0, in numpy lanes: zeros in front do not change a
    register that starts at 0, so the data is padded to ``lanes * length`` and each lane is
    stepped at once; lanes then combine pairwise as ``Z^len(left) ^ right``."""
    n = len(data)
    lanes = 1
    while lanes * 2 <= min(4096, n // 64):
        lanes *= 2
    length = -(-n // lanes)
    padded = np.zeros(lanes * length, dtype=np.uint8)
    padded[lanes * length - n:] = np.frombuffer(data, dtype=np.uint8)
    columns = np.ascontiguousarray(padded.reshape(lanes, length).T)
    registers = np.zeros(lanes, dtype=np.uint32)
    table = _TABLE_NP
    for row in columns:
        registers = table[(registers ^ row) & 0xFF] ^ (registers >> 8)
    segment = length
    while registers.size > 1:
        registers = _apply(_zero_extension(segment), registers[0::2]) ^ registers[1::2]
        segment *= 2
    return int(registers[0])


def _crc32c_fallback(data: bytes) -> int:
    if len(data) < 2048:
        return _raw_python(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    # starting from 0xFFFFFFFF equals starting from 0 with the first 4 bytes inverted
    head = bytes(b ^ 0xFF for b in data[:4])
    return _raw_numpy_from_zero(head + bytes(data[4:])) ^ 0xFFFFFFFF


def _pick_crc32c() -> tuple[Any, str]:
    try:
        import google_crc32c

        if getattr(google_crc32c, "implementation", "c") == "c":
            return (lambda data: google_crc32c.value(bytes(data))), "google_crc32c"
    except ImportError:
        pass
    try:
        import crc32c as _crc32c

        return (lambda data: _crc32c.crc32c(data)), "crc32c"
    except ImportError:
        pass
    return _crc32c_fallback, "numpy"


_CRC32C, CRC32C_IMPLEMENTATION = _pick_crc32c()


def crc32c(data: bytes) -> int:
    """CRC32-C of ``data`` (the checksum TFRecord files use).

    Examples:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    return _CRC32C(data)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: the CRC32-C rotated right by 15 bits plus a constant.

    Examples:
        >>> masked_crc32c(b"")
        2726488792
    """
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


# ---- record framing --------------------------------------------------------------------------


class TFRecordFormatError(ValueError):
    """A TFRecord file that is truncated, has a bad checksum, or holds a record that is not a
    ``tf.train.Example``; the message gives the record index and byte offset."""


def _read_exact(f: BinaryIO, n: int) -> bytes:
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = f.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def iter_records(f: BinaryIO, check_crc: bool = True) -> Iterator[bytes]:
    """The records of an open TFRecord file, checking lengths and CRCs.

    Examples:
        >>> import io
        >>> buf = io.BytesIO()
        >>> write_record(buf, b"abc"); write_record(buf, b"")
        >>> list(iter_records(io.BytesIO(buf.getvalue())))
        [b'abc', b'']
        >>> list(iter_records(io.BytesIO(buf.getvalue()[:-2])))
        Traceback (most recent call last):
        ...
        streamscope.engine.io.tfrecord_codec.TFRecordFormatError: record 1 (at byte 19): truncated: the data CRC has 2 of 4 bytes
    """
    index = 0
    offset = 0
    while True:
        header = _read_exact(f, 12)
        if not header:
            return
        where = f"record {index} (at byte {offset})"
        if len(header) < 12:
            part = "length" if len(header) < 8 else "length CRC"
            raise TFRecordFormatError(f"{where}: truncated: the record header has {len(header)} of 12 bytes "
                                      f"(in the {part})")
        length_bytes = header[:8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", header[8:])
        if check_crc and masked_crc32c(length_bytes) != length_crc:
            raise TFRecordFormatError(f"{where}: bad CRC of the length field (not a TFRecord file, or corrupt)")
        data = _read_exact(f, length)
        if len(data) < length:
            raise TFRecordFormatError(f"{where}: truncated: the record data has {len(data)} of {length} bytes")
        footer = _read_exact(f, 4)
        if len(footer) < 4:
            raise TFRecordFormatError(f"{where}: truncated: the data CRC has {len(footer)} of 4 bytes")
        if check_crc and masked_crc32c(data) != struct.unpack("<I", footer)[0]:
            raise TFRecordFormatError(f"{where}: bad CRC of the record data ({length} bytes): the file is corrupt")
        yield data
        index += 1
        offset += 16 + length


def write_record(f: BinaryIO, data: bytes) -> None:
    """Append one framed record to ``f``.

    Examples:
        >>> import io
        >>> buf = io.BytesIO(); write_record(buf, b"hi"); len(buf.getvalue())
        18
    """
    length_bytes = struct.pack("<Q", len(data))
    f.write(length_bytes)
    f.write(struct.pack("<I", masked_crc32c(length_bytes)))
    f.write(data)
    f.write(struct.pack("<I", masked_crc32c(data)))


# ---- protobuf wire format --------------------------------------------------------------------

BYTES, FLOAT, INT = "bytes", "float", "int"
"""Feature kinds: ``bytes_list``, ``float_list`` (float32), ``int64_list``."""
_KIND_OF_FIELD = {1: BYTES, 2: FLOAT, 3: INT}
_FIELD_OF_KIND = {BYTES: 1, FLOAT: 2, INT: 3}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("a varint longer than 10 bytes")


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` of a message: ints for varints and fixed-width
    fields' raw bytes, bytes for length-delimited ones."""
    pos = 0
    end = len(buf)
    try:
        while pos < end:
            tag, pos = _varint(buf, pos)
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise ValueError("field number 0")
            if wire == 0:
                value, pos = _varint(buf, pos)
            elif wire == 2:
                size, pos = _varint(buf, pos)
                if pos + size > end:
                    raise ValueError("a length-delimited field runs past the end of its message")
                value = buf[pos:pos + size]
                pos += size
            elif wire == 1:
                if pos + 8 > end:
                    raise ValueError("a 64-bit field runs past the end of its message")
                value = buf[pos:pos + 8]
                pos += 8
            elif wire == 5:
                if pos + 4 > end:
                    raise ValueError("a 32-bit field runs past the end of its message")
                value = buf[pos:pos + 4]
                pos += 4
            else:
                raise ValueError(f"wire type {wire} (groups are not used by tf.train.Example)")
            yield number, wire, value
    except IndexError:
        raise ValueError("the message ends inside a varint") from None


def _to_int64(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= (1 << 63) else value


def _packed_varints(payload: bytes) -> np.ndarray:
    """Packed int64 varints, decoded with numpy (groups of bytes ending in one below 0x80)."""
    b = np.frombuffer(payload, dtype=np.uint8)
    if b.size == 0:
        return np.zeros(0, dtype=np.int64)
    if b[-1] & 0x80:
        raise ValueError("packed int64 values end inside a varint")
    ends = np.flatnonzero(b < 0x80)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 10:
        raise ValueError("a varint longer than 10 bytes")
    position = np.arange(b.size) - np.repeat(starts, lengths)
    parts = (b & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    return np.add.reduceat(parts, starts).view(np.int64)  # the parts' bits never overlap: sum == or


def _decode_list(kind: str, buf: bytes) -> Any:
    if kind == BYTES:
        out = []
        for number, wire, value in _fields(buf):
            if number == 1:
                if wire != 2:
                    raise ValueError(f"BytesList.value has wire type {wire}")
                out.append(bytes(value))
        return out
    pieces: list[np.ndarray] = []
    for number, wire, value in _fields(buf):
        if number != 1:
            continue
        if kind == FLOAT:
            if wire == 2:
                if len(value) % 4:
                    raise ValueError("packed float values are not a multiple of 4 bytes")
                pieces.append(np.frombuffer(value, dtype="<f4"))
            elif wire == 5:
                pieces.append(np.frombuffer(value, dtype="<f4"))
            else:
                raise ValueError(f"FloatList.value has wire type {wire}")
        else:
            if wire == 2:
                pieces.append(_packed_varints(value))
            elif wire == 0:
                pieces.append(np.array([_to_int64(value)], dtype=np.int64))
            else:
                raise ValueError(f"Int64List.value has wire type {wire}")
    dtype = np.float32 if kind == FLOAT else np.int64
    if not pieces:
        return np.zeros(0, dtype=dtype)
    return (pieces[0] if len(pieces) == 1 else np.concatenate(pieces)).astype(dtype, copy=False)


def _decode_feature(buf: bytes) -> tuple[Optional[str], Any]:
    """``(kind or None for an empty Feature, values)``; a oneof set twice keeps the last, a list
    given twice (the same kind) merges, as protobuf parsers do."""
    kind: Optional[str] = None
    values: Any = None
    for number, wire, value in _fields(buf):
        if number not in _KIND_OF_FIELD:
            continue
        if wire != 2:
            raise ValueError(f"Feature field {number} has wire type {wire}")
        new_kind = _KIND_OF_FIELD[number]
        decoded = _decode_list(new_kind, value)
        if new_kind == kind:
            values = values + decoded if kind == BYTES else np.concatenate([values, decoded])
        else:
            kind, values = new_kind, decoded
    return kind, values


def decode_example(data: bytes, wanted: Optional[Sequence[str]] = None) -> dict[str, tuple[Optional[str], Any]]:
    """A serialized ``tf.train.Example`` -> ``{feature name: (kind, values)}`` in the order the
    features are stored. ``values`` is a list of bytes for ``BYTES`` and a numpy array (float32 /
    int64) otherwise; ``kind`` is None for a Feature with no list set. ``wanted`` decodes only
    those features (the others are skipped unparsed).

    Examples:
        >>> data = encode_example([("label", INT, [3]), ("name", BYTES, [b"cat"])])
        >>> decode_example(data)
        {'label': ('int', array([3])), 'name': ('bytes', [b'cat'])}
    """
    wanted_set = None if wanted is None else set(wanted)
    data = bytes(data)
    entries: dict[str, bytes] = {}
    for number, wire, features in _fields(data):
        if number != 1:
            continue
        if wire != 2:
            raise ValueError(f"Example.features has wire type {wire}")
        for fnumber, fwire, entry in _fields(features):
            if fnumber != 1:
                continue
            if fwire != 2:
                raise ValueError(f"Features.feature has wire type {fwire}")
            key = b""
            value = b""
            for enumber, ewire, evalue in _fields(entry):
                if enumber == 1 and ewire == 2:
                    key = evalue
                elif enumber == 2 and ewire == 2:
                    value = evalue
                elif enumber in (1, 2):
                    raise ValueError(f"a feature map entry's field {enumber} has wire type {ewire}")
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("a feature name is not UTF-8") from None
            entries.pop(name, None)  # the last entry of a key wins, in its position
            entries[name] = value
    out = {}
    for name, value in entries.items():
        if wanted_set is None or name in wanted_set:
            out[name] = _decode_feature(value)
    return out


def _encode_varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _encode_varint((field << 3) | 2) + _encode_varint(len(payload)) + payload


def _encode_ints(values: Iterable[int]) -> bytes:
    array = np.asarray(values)
    if array.size and array.dtype.kind in "iu" and array.min() >= 0 and array.max() < 0x80:
        return array.astype(np.uint8).tobytes()
    return b"".join(_encode_varint(int(v)) for v in array.tolist())


def encode_feature(kind: str, values: Any) -> bytes:
    """One ``tf.train.Feature`` holding ``values`` as a list of ``kind``.

    Examples:
        >>> encode_feature(INT, [1, 2])
        b'\\x1a\\x04\\n\\x02\\x01\\x02'
    """
    if kind == BYTES:
        payload = b"".join(_length_delimited(1, bytes(v)) for v in values)
    elif kind == FLOAT:
        packed = np.asarray(values, dtype="<f4").tobytes()
        payload = _length_delimited(1, packed) if packed else b""
    elif kind == INT:
        packed = _encode_ints(values)
        payload = _length_delimited(1, packed) if packed else b""
    else:
        raise ValueError(f"unknown feature kind {kind!r}")
    return _length_delimited(_FIELD_OF_KIND[kind], payload)


def encode_example(features: Iterable[tuple[str, str, Any]]) -> bytes:
    """``(name, kind, values)`` triples -> a serialized ``tf.train.Example``.

    Examples:
        >>> decode_example(encode_example([("x", FLOAT, [0.5, 1.5])]))
        {'x': ('float', array([0.5, 1.5], dtype=float32))}
    """
    entries = b"".join(
        _length_delimited(1, _length_delimited(1, name.encode("utf-8")) + _length_delimited(2, encode_feature(kind, values)))
        for name, kind, values in features
    )
    return _length_delimited(1, entries)


# ---- tf.io.serialize_tensor ------------------------------------------------------------------

_TF_DTYPES = {
    "float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "complex64": 8,
    "int64": 9, "bool": 10, "uint16": 17, "complex128": 18, "float16": 19, "uint32": 22, "uint64": 23,
}
"""numpy dtype name -> TensorFlow's ``DataType`` enum value (``types.proto``)."""


def serialize_tensor(array: np.ndarray) -> bytes:
    """A numeric ndarray as a serialized ``TensorProto``, the bytes ``tf.io.serialize_tensor``
    gives (``dtype`` = 1, ``tensor_shape`` = 2 with one ``dim { size }`` per axis,
    ``tensor_content`` = 4 holding the little-endian values in C order); ``tf.io.parse_tensor``
    reads them back.

    Examples:
        >>> serialize_tensor(np.array([[1, 2]], dtype=np.uint8))
        b'\\x08\\x04\\x12\\x08\\x12\\x02\\x08\\x01\\x12\\x02\\x08\\x02"\\x02\\x01\\x02'
    """
    array = np.asarray(array)
    code = _TF_DTYPES.get(array.dtype.name)
    if code is None:
        raise TypeError(f"cannot serialize a tensor of dtype {array.dtype} (numeric and bool dtypes only)")
    shape = b"".join(_length_delimited(2, (b"\x08" + _encode_varint(d)) if d else b"") for d in array.shape)
    content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    out = b"\x08" + _encode_varint(code) + _length_delimited(2, shape)
    if content:
        out += _length_delimited(4, content)
    return out
