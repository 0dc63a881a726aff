"""Stream compression with zlib (XEP-0138), with a bound on inflated input.

:class:`Inflater` decompresses what the client sends.  MongooseIM's ``zlib``
listener option is the most a single read may inflate to; the check is made
while inflating (``zlib.decompressobj().decompress`` with ``max_length``), so
a "zip bomb" costs at most the limit in memory before the stream is refused
with ``policy-violation``.

:class:`Deflater` compresses what the server sends; every write is flushed
with ``Z_SYNC_FLUSH`` so the client can decode each stanza as it arrives.  A
small window and memory level keep the per-connection cost near 64 KiB
(any zlib decoder reads a stream made with a smaller window).
"""

from __future__ import annotations

import zlib

__all__ = ["METHODS", "CompressionError", "Deflater", "Inflater"]

#: Compression methods offered in the ``<compression/>`` stream feature.
METHODS = ("zlib",)

# 2**13 bytes of history and memLevel 6: deflate then needs about 64 KiB.
_WBITS = 13
_MEM_LEVEL = 6


class CompressionError(Exception):
    """The compressed input is corrupt or inflates past the limit."""


class Inflater:
    """Decompresses one direction of a zlib stream, read by read.

    Args:
        limit: the most bytes one call may return; more is an error.
    """

    __slots__ = ("_inflate", "limit")

    def __init__(self, limit: int):
        self._inflate = zlib.decompressobj()
        self.limit = limit

    def decompress(self, data: bytes) -> bytes:
        """Inflate one read.

        Args:
            data: compressed bytes as received.

        Returns:
            The inflated bytes (possibly empty while a block is incomplete).

        Raises:
            CompressionError: corrupt data, or more than ``limit`` bytes.
        """
        try:
            out = self._inflate.decompress(data, self.limit + 1)
        except zlib.error as error:
            raise CompressionError(f"corrupt compressed data ({error})") from None
        if len(out) > self.limit or self._inflate.unconsumed_tail:
            raise CompressionError(
                f"compressed data inflates to more than the limit of {self.limit} bytes"
            )
        return out


class Deflater:
    """Compresses the server's side of the stream."""

    __slots__ = ("_deflate",)

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, _WBITS, _MEM_LEVEL)

    def compress(self, data: bytes) -> bytes:
        """Compress ``data`` and flush it so the peer can decode it now."""
        return self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
