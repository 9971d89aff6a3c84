"""Test media: bytes of any accepted content type that open with that type's real header.

`media_bytes(content_type, size)` writes the genuine structure a file of that type starts with
(box, chunk and element sizes consistent with `size`) and fills the rest with random bytes, so an
upload of it passes the server's content check while staying incompressible.
"""

import functools
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable

# Three 188-byte MPEG-TS packets, the largest minimum: the check wants three sync bytes in a row.
MIN_SIZE = 3 * 188

_U32_MAX = 0xFFFFFFFF


def media_bytes(content_type: str, size: int) -> bytes:
    """Return exactly `size` bytes of `content_type`: its real header, then random bytes."""
    builder = _BUILDERS.get(content_type)
    if builder is None:
        raise ValueError(f"No test media for {content_type!r}.")
    try:
        content = builder(size)
    except _TooSmall as error:
        raise ValueError(f"{size} bytes cannot hold a {content_type} header: {error}") from None
    assert len(content) == size, (content_type, len(content), size)
    return content


class _TooSmall(ValueError):
    """The requested size is below what the type's header needs."""


def _pad(size: int, header: bytes, trailer: bytes = b"") -> bytearray:
    """Return header, random bytes, trailer: `size` bytes in all."""
    room = size - len(header) - len(trailer)
    if room < 0:
        raise _TooSmall(f"it needs at least {len(header) + len(trailer)} bytes")
    return bytearray(header + os.urandom(room) + trailer)


def _stamp(content: bytearray, start: int, period: int, header: bytes) -> None:
    """Write `header` at `start` and every `period` bytes after, cut short at the end."""
    # One slice assignment per header byte: fast even for hundreds of MiB.
    for index, value in enumerate(header):
        count = len(range(start + index, len(content), period))
        content[start + index :: period] = bytes([value]) * count


def _u32be(value: int) -> bytes:
    """Pack a big-endian 32-bit unsigned integer."""
    return struct.pack(">I", value)


def _u32le(value: int) -> bytes:
    """Pack a little-endian 32-bit unsigned integer, capped as RIFF writers cap sizes."""
    # Below zero only for a size too small, which `_pad` then refuses.
    return struct.pack("<I", max(0, min(value, _U32_MAX)))


# Documents

_WORD = ["[Content_Types].xml", "word/document.xml"]
_EXCEL = ["[Content_Types].xml", "xl/workbook.xml"]
_POWERPOINT = ["[Content_Types].xml", "ppt/presentation.xml"]
_OOXML = "application/vnd.openxmlformats-officedocument"
# The members that make an Office file its type, by type.
OFFICE_MEMBERS = {
    f"{_OOXML}.wordprocessingml.document": _WORD,
    f"{_OOXML}.spreadsheetml.sheet": _EXCEL,
    f"{_OOXML}.presentationml.presentation": _POWERPOINT,
    "application/vnd.ms-word.document.macroenabled.12": _WORD,
    "application/vnd.ms-excel.sheet.macroenabled.12": _EXCEL,
    "application/vnd.ms-powerpoint.presentation.macroenabled.12": _POWERPOINT,
}


def zip_archive(members: list[str], padding: int = 0) -> bytes:
    """Return a real ZIP of these (tiny) members and a stored one of `padding` random bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in members:
            archive.writestr(name, b"<x/>")
        archive.writestr("padding.bin", os.urandom(padding))
    return out.getvalue()


def _zip(size: int, members: list[str]) -> bytes:
    """Return a ZIP of exactly `size` bytes: the members, then random bytes stored as padding."""
    overhead = len(zip_archive(members))
    if size < overhead:
        raise _TooSmall(f"it needs at least {overhead} bytes")
    return zip_archive(members, size - overhead)


def _text(size: int) -> bytes:
    """Return `size` bytes of CSV-looking ASCII text."""
    rows = b"".join(b"%d,%d,text\n" % (n, n * n) for n in range(size // 8 + 1))
    return rows[:size]


# ISO BMFF (MP4, MOV, M4A, 3GP, HEIF, AVIF)


def _box(kind: bytes, payload: bytes) -> bytes:
    """Return an ISO BMFF box."""
    return _u32be(8 + len(payload)) + kind + payload


def _iso_bmff(major: bytes, *compatible: bytes, image: bool = False) -> Callable[[int], bytes]:
    """Build an `ftyp` box, for an image a `meta` box naming a picture handler, then `mdat`."""

    def build(size: int) -> bytes:
        head = _box(b"ftyp", major + _u32be(0x200 if not image else 0) + b"".join(compatible))
        if image:
            # A FullBox: version and flags, then a `hdlr` FullBox whose handler is `pict`.
            handler = _box(b"hdlr", bytes(4) + bytes(4) + b"pict" + bytes(12) + b"\0")
            head += _box(b"meta", bytes(4) + handler)
        room = size - len(head)
        if room < 8:
            raise _TooSmall(f"it needs at least {len(head) + 8} bytes")
        if room <= _U32_MAX:
            head += _u32be(room) + b"mdat"
        else:
            # A box over 4 GiB says size 1 and carries a 64-bit `largesize`.
            head += _u32be(1) + b"mdat" + struct.pack(">Q", room)
        return bytes(_pad(size, head))

    return build


# Matroska / WebM


def _ebml(doctype: bytes) -> Callable[[int], bytes]:
    """Build an EBML header naming `doctype`, then a Segment of unknown size (as recorders do)."""
    children = b"".join(
        [
            b"\x42\x86\x81\x01",  # EBMLVersion 1
            b"\x42\xf7\x81\x01",  # EBMLReadVersion 1
            b"\x42\xf2\x81\x04",  # EBMLMaxIDLength 4
            b"\x42\xf3\x81\x08",  # EBMLMaxSizeLength 8
            b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype,  # DocType
            b"\x42\x87\x81\x04",  # DocTypeVersion 4
            b"\x42\x85\x81\x02",  # DocTypeReadVersion 2
        ]
    )
    header = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(children)]) + children
    segment = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff"
    return lambda size: bytes(_pad(size, header + segment))


# Ogg (Vorbis, Opus, Theora)


def _crc32_table() -> tuple[int, ...]:
    """Return the table of the MSB-first CRC-32 (polynomial 0x04C11DB7) of Ogg and MPEG-TS."""
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & _U32_MAX)
    return tuple(table)


_CRC32_TABLE = _crc32_table()


def _crc32_msb(data: bytes, crc: int) -> int:
    """Return the MSB-first CRC-32 of a few header bytes, from the starting value `crc`."""
    for byte in data:
        crc = ((crc << 8) & _U32_MAX) ^ _CRC32_TABLE[(crc >> 24) ^ byte]
    return crc


def _ogg(packet: bytes) -> Callable[[int], bytes]:
    """Build a first (beginning-of-stream) Ogg page carrying a codec's identification packet."""
    page = bytearray(
        b"OggS\x00\x02"  # Version 0, beginning of stream.
        + bytes(8)  # Granule position.
        + struct.pack("<I", 0x4D454449)  # Stream serial number.
        + bytes(4)  # Page sequence number.
        + bytes(4)  # CRC, filled in below.
        + bytes([1, len(packet)])  # One segment.
        + packet
    )
    page[22:26] = struct.pack("<I", _crc32_msb(bytes(page), 0))
    return lambda size: bytes(_pad(size, bytes(page)))


# Version 0, stereo 44.1 kHz, 128 kbit/s nominal, block sizes 256/2048, framing bit.
_VORBIS_ID = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 2, 44100, 0, 128000, 0, 0xB8, 1)
_OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
_THEORA_ID = (
    b"\x80theora\x03\x02\x01"  # Version 3.2.1.
    + struct.pack(">HH", 4, 3)  # 4x3 macroblocks.
    + (64).to_bytes(3, "big")
    + (48).to_bytes(3, "big")  # 64x48 picture at offset 0,0.
    + b"\x00\x00"
    + struct.pack(">II", 25, 1)  # 25 frames per second.
    + (1).to_bytes(3, "big")
    + (1).to_bytes(3, "big")  # Square pixels.
    + b"\x00"  # Colour space unspecified.
    + (0).to_bytes(3, "big")  # No nominal bitrate.
    + struct.pack(">H", (48 << 10) | (6 << 5))  # Quality 48, keyframe shift 6, 4:2:0.
)


# RIFF (WAV, AVI, WebP)


def _wav(size: int) -> bytes:
    """Build a RIFF/WAVE header for 16-bit mono PCM at 44.1 kHz; the random bytes are its noise."""
    fmt = struct.pack("<HHIIHH", 1, 1, 44100, 88200, 2, 16)
    header = (
        b"RIFF"
        + _u32le(size - 8)
        + b"WAVE"
        + b"fmt "
        + _u32le(len(fmt))
        + fmt
        + b"data"
        + _u32le(size - 44)
    )
    return bytes(_pad(size, header))


def _avi(size: int) -> bytes:
    """Build a RIFF/AVI header (`hdrl` with a main header), then a `movi` list of random bytes."""
    # Microseconds per frame, max bytes/s, padding, flags, frames, initial frames, streams,
    # buffer size, width, height, then four reserved words.
    avih = struct.pack("<14I", 40000, 0, 0, 0, 0, 0, 1, 0, 64, 48, 0, 0, 0, 0)
    hdrl = b"hdrl" + b"avih" + _u32le(len(avih)) + avih
    head = b"RIFF" + _u32le(size - 8) + b"AVI " + b"LIST" + _u32le(len(hdrl)) + hdrl
    head += b"LIST" + _u32le(size - len(head) - 8) + b"movi"
    return bytes(_pad(size, head))


def _webp(size: int) -> bytes:
    """Build a RIFF/WEBP header with a lossless (`VP8L`) 64x48 image chunk."""
    dimensions = struct.pack("<I", (64 - 1) | ((48 - 1) << 14))
    header = b"RIFF" + _u32le(size - 8) + b"WEBP" + b"VP8L" + _u32le(size - 20)
    return bytes(_pad(size, header + b"\x2f" + dimensions))


# MPEG (audio frames, ADTS, program and transport streams)


def _syncsafe(value: int) -> bytes:
    """Pack an ID3v2 syncsafe integer (7 bits a byte)."""
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _mp3(size: int) -> bytes:
    """Build an ID3v2.4 tag with a title, then MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz)."""
    title = b"\x03test media"
    frame = b"TIT2" + _syncsafe(len(title)) + b"\x00\x00" + title
    tag = b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame
    content = _pad(size, tag + b"\xff\xfb\x90\x64")
    # Each frame is 144 * 128000 / 44100 = 417 bytes long without padding.
    _stamp(content, len(tag), 417, b"\xff\xfb\x90\x64")
    return bytes(content)


def _aac(size: int) -> bytes:
    """Build ADTS frames: MPEG-4 AAC LC, 44.1 kHz stereo, 371 bytes each."""
    length = 371
    header = bytes(
        [
            0xFF,
            0xF1,  # Sync, MPEG-4, no CRC.
            0x50,  # AAC LC, 44.1 kHz, channel configuration's high bit 0.
            0x80 | (length >> 11),  # Two channels; the frame length's top bits.
            (length >> 3) & 0xFF,
            ((length & 7) << 5) | 0x1F,  # Frame length's low bits; buffer fullness 0x7FF.
            0xFC,  # One raw data block.
        ]
    )
    content = _pad(size, header)
    _stamp(content, 0, length, header)
    return bytes(content)


def _mpeg_ps(size: int) -> bytes:
    """Build an MPEG-2 program stream: a pack header opening every 2,048-byte sector."""
    pack = bytes.fromhex("000001ba4400040004010189c3f8")
    content = _pad(size, pack)
    _stamp(content, 0, 2048, pack)
    return bytes(content)


def _ts_packet(pid_bytes: bytes, section: bytes) -> bytes:
    """Return a 188-byte MPEG-TS packet carrying one PSI section, stuffed with 0xFF."""
    crc = _crc32_msb(section, _U32_MAX)
    # Sync byte, PUSI + PID, payload only (counter 0), pointer field 0, section and its CRC.
    packet = b"\x47" + pid_bytes + b"\x10\x00" + section + _u32be(crc)
    return packet + b"\xff" * (188 - len(packet))


# The program association table (program 1's map on PID 0x1000), then that program map: one
# private-data stream on PID 0x100 (random bytes would be broken video), as players read them.
_TS_TABLES = _ts_packet(b"\x40\x00", bytes.fromhex("00b00d0001c100000001f000")) + _ts_packet(
    b"\x50\x00", bytes.fromhex("02b0120001c10000e100f00006e100f000")
)


def _mpeg_ts(size: int) -> bytes:
    """Build 188-byte MPEG-TS packets: PAT, PMT, then packets on PID 0x100 of random bytes."""
    if size < MIN_SIZE:
        raise _TooSmall(f"it needs at least {MIN_SIZE} bytes (three packets)")
    content = _pad(size, b"")
    _stamp(content, 0, 188, b"\x47\x01\x00")
    # The continuity counter (low nibble) steps 0-15 from packet to packet.
    packets = len(range(3, size, 188))
    content[3::188] = (bytes(range(0x10, 0x20)) * (packets // 16 + 1))[:packets]
    content[: len(_TS_TABLES)] = _TS_TABLES
    # The first data packet starts a PES packet: private stream 1, unbounded, no timestamps.
    start = len(_TS_TABLES)
    content[start + 1] = 0x41
    content[start + 4 : start + 13] = bytes.fromhex("000001bd0000800000")
    return bytes(content)


# Lossless audio and still images


def _flac(size: int) -> bytes:
    """Build `fLaC` and a last-metadata STREAMINFO block (44.1 kHz, stereo, 16-bit)."""
    # Sample rate (20 bits), channels - 1 (3), bits per sample - 1 (5), total samples (36).
    packed = (44100 << 44) | (1 << 41) | (15 << 36)
    info = struct.pack(">HH", 4096, 4096) + bytes(6) + struct.pack(">Q", packed) + bytes(16)
    return bytes(_pad(size, b"fLaC" + b"\x80" + len(info).to_bytes(3, "big") + info))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """Return a PNG chunk with its CRC."""
    return _u32be(len(data)) + kind + data + _u32be(zlib.crc32(kind + data))


def _png(size: int) -> bytes:
    """Build the PNG signature and an IHDR chunk (64x48, 8-bit RGB)."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
    return bytes(_pad(size, b"\x89PNG\r\n\x1a\n" + ihdr))


def _jpeg(size: int) -> bytes:
    """Build SOI and a JFIF APP0 segment; end with EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return bytes(_pad(size, b"\xff\xd8" + app0, b"\xff\xd9"))


def _gif(size: int) -> bytes:
    """Build a GIF89a screen descriptor (1x1, two-colour table); end with the trailer."""
    screen = struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    return bytes(_pad(size, b"GIF89a" + screen, b";"))


def _bmp(size: int) -> bytes:
    """Build a 24-bit BMP one pixel wide, as tall as the random pixel rows (4 bytes each) go."""
    rows = max((size - 54) // 4, 1)
    info = struct.pack("<IiiHHIIiiII", 40, 1, rows, 1, 24, 0, rows * 4, 2835, 2835, 0, 0)
    return bytes(_pad(size, b"BM" + _u32le(size) + bytes(4) + _u32le(54) + info))


def _tiff(size: int) -> bytes:
    """Build a little-endian TIFF whose one IFD describes a 1x1 grayscale strip right after it."""
    entries = [  # Tag, type (3 SHORT, 4 LONG), count, value.
        (256, 3, 1, 1),  # ImageWidth
        (257, 3, 1, 1),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # PhotometricInterpretation: black is zero
        (273, 4, 1, 8 + 2 + 12 * 8 + 4),  # StripOffsets: right after the IFD
        (278, 3, 1, 1),  # RowsPerStrip
        (279, 4, 1, 1),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHII", *entry) for entry in entries)
    return bytes(_pad(size, b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(4)))


_BUILDERS: dict[str, Callable[[int], bytes]] = {
    "video/mp4": _iso_bmff(b"isom", b"isom", b"iso2", b"avc1", b"mp41"),
    "video/x-m4v": _iso_bmff(b"M4V ", b"M4V ", b"M4A ", b"mp42", b"isom"),
    "video/quicktime": _iso_bmff(b"qt  ", b"qt  "),
    "video/3gpp": _iso_bmff(b"3gp4", b"isom", b"3gp4"),
    "audio/3gpp": _iso_bmff(b"3gp4", b"isom", b"3gp4"),
    "audio/mp4": _iso_bmff(b"M4A ", b"M4A ", b"mp42", b"isom"),
    "audio/x-m4a": _iso_bmff(b"M4A ", b"M4A ", b"mp42", b"isom"),
    "image/heic": _iso_bmff(b"heic", b"mif1", b"heic", image=True),
    "image/heif": _iso_bmff(b"mif1", b"mif1", b"heic", image=True),
    "image/avif": _iso_bmff(b"avif", b"avif", b"mif1", b"miaf", b"MA1B", image=True),
    "video/webm": _ebml(b"webm"),
    "audio/webm": _ebml(b"webm"),
    "video/x-matroska": _ebml(b"matroska"),
    "audio/x-matroska": _ebml(b"matroska"),
    "video/ogg": _ogg(_THEORA_ID),
    "audio/ogg": _ogg(_VORBIS_ID),
    "audio/opus": _ogg(_OPUS_HEAD),
    "audio/wav": _wav,
    "audio/x-wav": _wav,
    "audio/wave": _wav,
    "video/x-msvideo": _avi,
    "video/avi": _avi,
    "image/webp": _webp,
    "audio/mpeg": _mp3,
    "audio/mp3": _mp3,
    "audio/aac": _aac,
    "video/mpeg": _mpeg_ps,
    "video/mp2t": _mpeg_ts,
    "video/vnd.dlna.mpeg-tts": _mpeg_ts,
    "audio/flac": _flac,
    "audio/x-flac": _flac,
    "image/png": _png,
    "image/jpeg": _jpeg,
    "image/gif": _gif,
    "image/bmp": _bmp,
    "image/tiff": _tiff,
    "application/pdf": lambda size: bytes(_pad(size, b"%PDF-1.7\n")),
    "application/zip": lambda size: _zip(size, []),
    **{name: functools.partial(_zip, members=members) for name, members in OFFICE_MEMBERS.items()},
    "text/plain": lambda size: _text(size),
    "text/csv": lambda size: _text(size),
}
