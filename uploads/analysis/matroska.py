"""A Matroska (WebM) file's header and its last clusters, joined into one small file: enough for
ffprobe to find the last timestamp of a file whose header holds no duration (a MediaRecorder
recording), without reading the rest.

The demuxer reads the joined bytes as if nothing lay between, because a cluster's timestamp is
absolute, not counted from the one before.
"""

from http.client import HTTPConnection, HTTPException
from urllib.parse import urlsplit

# How much of the file's end is read for its last timestamp, and of its start to find where the
# header stops and the first cluster begins.
TAIL_BYTES = 4 * 1024 * 1024
HEAD_BYTES = 64 * 1024


def header_and_tail(url: str, size: int, *, timeout: float) -> bytes | None:
    """Return the file's header followed by the whole clusters of its tail, or None when either
    cannot be found (a header element of unknown size, no cluster starting in the tail)."""
    head = _read_range(url, 0, min(HEAD_BYTES, size), timeout)
    header_end = _first_cluster(head)
    if header_end is None:
        return None
    tail_start = max(header_end, size - TAIL_BYTES)
    tail = _read_range(url, tail_start, size - tail_start, timeout)
    cluster = _whole_cluster(tail)
    if cluster is None:
        return None
    return head[:header_end] + tail[cluster:]


def _read_range(url: str, start: int, length: int, timeout: float) -> bytes:
    """Return `length` bytes of the file from `start`, or b"" if they cannot be read."""
    if length <= 0:
        return b""
    parts = urlsplit(url)
    target = f"{parts.path or '/'}{'?' if parts.query else ''}{parts.query}"
    # http.client, not urllib: urllib would send a loopback request through the worker's proxy.
    connection = HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        range_header = f"bytes={start}-{start + length - 1}"
        connection.request("GET", target, headers={"Range": range_header})
        response = connection.getresponse()
        # Only a partial answer: a server that ignores Range would send the whole file.
        return response.read(length) if response.status == 206 else b""
    except (OSError, HTTPException):
        return b""
    finally:
        connection.close()


# Matroska's EBML element ids: the top-level Segment; a Cluster, and what opens one.
_SEGMENT = 0x18538067
_CLUSTER = 0x1F43B675
_CLUSTER_OPENERS = frozenset({0xE7, 0xBF})  # Its Timestamp, or a CRC-32 of it.


def _first_cluster(head: bytes) -> int | None:
    """Return the offset of a Matroska file's first Cluster, or None if `head` does not show it."""
    position = 0
    while position < len(head):
        element = _element(head, position)
        if element is None:
            return None
        element_id, data_start, data_size = element
        if element_id == _CLUSTER:
            return position
        if element_id == _SEGMENT:
            position = data_start  # Its children follow: Info, Tracks…, then the clusters.
        elif data_size is None:
            return None  # A header element of unknown size cannot be stepped over.
        else:
            position = data_start + data_size
    return None


def _whole_cluster(data: bytes) -> int | None:
    """Return the offset of the first Cluster that starts in `data`, or None."""
    marker = _CLUSTER.to_bytes(4, "big")
    position = data.find(marker)
    while position != -1:
        # The id alone may be chance in compressed bytes; a size, then a Timestamp, are not.
        element = _element(data, position)
        child = _vint(data, element[1], keep_marker=True) if element else None
        if child is not None and child[0] in _CLUSTER_OPENERS:
            return position
        position = data.find(marker, position + 1)
    return None


def _element(data: bytes, position: int) -> tuple[int, int, int | None] | None:
    """Return the id, data offset and data size (None if unknown) of the element at `position`."""
    element_id = _vint(data, position, keep_marker=True)
    if element_id is None:
        return None
    size = _vint(data, element_id[1], keep_marker=False)
    if size is None:
        return None
    length = size[1] - element_id[1]
    unknown = size[0] == (1 << (7 * length)) - 1  # All value bits set: "size unknown".
    return element_id[0], size[1], None if unknown else size[0]


def _vint(data: bytes, position: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """Return an EBML variable-length integer at `position` and the offset after it, or None."""
    if position >= len(data) or data[position] == 0:
        return None
    first = data[position]
    length = 9 - first.bit_length()  # The leading zeros, plus the marker bit.
    end = position + length
    if end > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[position + 1 : end]:
        value = value << 8 | byte
    return value, end
