"""Sets one byte of the first instruction record of a Maia binary and fixes
the checksum, so that the decoder's field checks see the change.

usage: patch_binary.py IN OUT OFFSET_IN_RECORD VALUE
"""
import struct
import sys
import zlib

data = bytearray(open(sys.argv[1], "rb").read())
# Section table entry 4 (code) at 24 + 3 * 24; its offset field at +8.
(code,) = struct.unpack_from("<Q", data, 24 + 72 + 8)
# Stream count + reserved, then the first stream's tile and count.
record = code + 16
data[record + int(sys.argv[3])] = int(sys.argv[4])
struct.pack_into("<I", data, 16, zlib.crc32(bytes(data[24:])) & 0xFFFFFFFF)
open(sys.argv[2], "wb").write(data)
