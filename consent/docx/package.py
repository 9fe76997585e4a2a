"""Output packaging, DOCX: a form's parts -> the zip file Word opens, byte-for-byte reproducible (fixed
entry times, modes and order), with the compressed bytes of a part reused for the next form that has
the very same part."""

from __future__ import annotations

import io
import struct
import zlib
from collections import OrderedDict

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def zip_parts(parts: dict[str, bytes]) -> bytes:
    """The DOCX zip with fixed entry times, modes and order, so the same form gives the same bytes.

    Written here rather than with zipfile so that a part's compressed bytes can be reused: the forms
    of a batch share most parts (the styles alone are 0.8 MB, most of the time of a DOCX), and only a
    few (the document, the header, the properties) differ from form to form."""
    local, central = io.BytesIO(), io.BytesIO()
    for name, data in parts.items():
        raw = name.encode("ascii")
        crc = zlib.crc32(data)
        packed = _deflated(name, data)
        head = struct.pack("<HHHHHIII", 20, 0, 8, _ZIP_DOS_TIME, _ZIP_DOS_DATE, crc, len(packed), len(data))
        central.write(b"PK\x01\x02" + struct.pack("<H", 0x0314) + head
                      + struct.pack("<HHHHHII", len(raw), 0, 0, 0, 0, 0o100644 << 16, local.tell()) + raw)
        local.write(b"PK\x03\x04" + head + struct.pack("<HH", len(raw), 0) + raw + packed)
    directory = central.getvalue()
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(parts), len(parts), len(directory), local.tell(), 0)
    return local.getvalue() + directory + end


_ZIP_DOS_TIME = 0  # 00:00:00
_ZIP_DOS_DATE = ((ZIP_TIME[0] - 1980) << 9) | (ZIP_TIME[1] << 5) | ZIP_TIME[2]
_DEFLATED: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()


def _deflated(name: str, data: bytes) -> bytes:
    """A part's deflated bytes, kept for the next form whose part has the same name and the very same
    bytes (compared whole: never another form's part by a hash collision)."""
    if len(data) < 4096:  # small parts: cheaper to compress than to keep
        return _deflate(data)
    key = (name, data)
    packed = _DEFLATED.get(key)
    if packed is None:
        packed = _DEFLATED[key] = _deflate(data)
        while len(_DEFLATED) > 24:
            _DEFLATED.popitem(last=False)
    else:
        _DEFLATED.move_to_end(key)
    return packed


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()
