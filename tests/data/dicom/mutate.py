"""Seeds and mutations for fuzzing the anonymizer's DICOM reading.

Seeds are the test files of :mod:`tests.data.dicom.synth` (CT, multi-frame US with burned-in
text, secondary capture, Latin-1 and ISO 2022 character sets, big endian, deflated, RLE).
A mutation is a short list of edits (flip, overwrite with an interesting value, insert,
delete, duplicate a slice, truncate), chosen at random or by hypothesis; edits aimed at the
first kilobytes (file meta, element headers, lengths) are favoured, where parsers break.
"""

from __future__ import annotations

import functools
import random
import struct

from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, RLELossless

from tests.data.dicom import synth

#: Values that cross parser limits: undefined length, sign bits, zero, sequence delimiters.
INTERESTING = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xfe\xff\x00\xe0",
               b"\xfe\xff\xdd\xe0", b"\xfe\xff\x0d\xe0", b"\x7f\xff\xff\xff",
               b"\x00\x80", b"SQ", b"UN", b"OB", b"UT", b"PN", b"\x1b$B", b"\x00")


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """Return the seed files (built once)."""
    def compressed(syntax, **kw):
        ds = synth.make_dataset(5, modality="US", frames=2, **kw)
        ds.compress(syntax, encoding_plugin="pydicom")
        return ds

    sets = [synth.make_dataset(1), synth.make_dataset(2, modality="US", frames=2,
                                                      text_box=True),
            synth.make_dataset(3, modality="OT", text_box=True), synth.latin1_dataset(),
            synth.japanese_dataset(),
            synth.make_dataset(4, transfer_syntax=ExplicitVRBigEndian),
            synth.make_dataset(6, transfer_syntax=DeflatedExplicitVRLittleEndian),
            compressed(RLELossless, text_box=True)]
    return tuple(synth.to_bytes(ds) for ds in sets)


Edit = tuple[str, int, int, bytes]


def apply(data: bytes, edits: list[Edit]) -> bytes:
    """Apply ``edits`` (kind, position, size, bytes) to ``data`` in order."""
    buf = bytearray(data)
    for kind, pos, size, value in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == "flip":
            buf[pos] ^= 1 << (size % 8)
        elif kind == "set":
            buf[pos:pos + len(value)] = value
        elif kind == "insert":
            buf[pos:pos] = value
        elif kind == "delete":
            del buf[pos:pos + max(1, size)]
        elif kind == "dup":
            buf[pos:pos] = buf[pos:pos + max(1, size)]
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "length":  # a 16- or 32-bit length field made big or odd
            buf[pos:pos + 4] = struct.pack("<I", size)
    return bytes(buf)


KINDS = ("flip", "set", "insert", "delete", "dup", "truncate", "length")


def random_edits(rng: random.Random, size: int) -> list[Edit]:
    """Return 1-4 random edits for a file of ``size`` bytes, biased to its header."""
    edits = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(KINDS)
        limit = size if rng.random() < 0.3 else min(size, 2048)
        pos = rng.randrange(max(1, limit))
        length = rng.choice((0, 1, 2, 7, 0xFFFF, 0xFFFFFFFF, rng.randrange(1 << 16)))
        value = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.randbytes(
            rng.randint(1, 8))
        edits.append((kind, pos, length, value))
    return edits


def mutant(rng: random.Random) -> bytes:
    """Return one mutated seed."""
    data = rng.choice(seeds())
    return apply(data, random_edits(rng, len(data)))
