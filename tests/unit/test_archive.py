"""Zip input: unsafe names, links, duplicates and bombs refused before anything is written."""

from __future__ import annotations

import stat
import zipfile

import pytest

from anonymizer.archive import ZipLimits, extract
from anonymizer.errors import InputError


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for m in members:
            if isinstance(m, zipfile.ZipInfo):
                zf.writestr(m, b"destino")
            else:
                zf.writestr(*m)
    return path


def _link(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("members", "message"), [
    ([("../fuera.dcm", b"x")], "zip member 1: unsafe name"),
    ([("ok.dcm", b"x"), ("/etc/passwd", b"x")], "zip member 2: unsafe name"),
    ([("a/./b.dcm", b"x")], "zip member 1: unsafe name"),
    ([(".", b"x")], "zip member 1: unsafe name"),
    ([("C:/x.dcm", b"x")], "zip member 1: unsafe name"),
    ([("a\\..\\..\\x.dcm", b"x")], "zip member 1: unsafe name"),
    ([_link("enlace.dcm")], "zip member 1: symbolic link"),
    ([("a/b.dcm", b"x"), ("a//b.dcm", b"y")], "zip member 2: duplicate name"),
    ([("a.dcm", b"x"), ("a.dcm", b"y")], "zip member 2: duplicate name"),
])
def test_unsafe_members_refuse_the_archive(tmp_path, members, message):
    archive = _zip(tmp_path / "d.zip", members)
    dest = tmp_path / "x"
    dest.mkdir()
    with pytest.raises(InputError, match=message) as err:
        extract(archive, dest)
    assert "archive refused" in str(err.value)
    assert not list(dest.iterdir())  # checked before anything is extracted
    assert "passwd" not in str(err.value) and "fuera" not in str(err.value)


def test_limits_on_count_total_and_ratio(tmp_path):
    many = _zip(tmp_path / "many.zip", [(f"{i}.dcm", b"x") for i in range(5)])
    with pytest.raises(InputError, match="5 members is over the limit of 4"):
        extract(many, tmp_path, ZipLimits(max_members=4))
    big = _zip(tmp_path / "big.zip", [("a.dcm", b"x" * 600), ("b.dcm", b"x" * 600)])
    with pytest.raises(InputError, match="1200 bytes uncompressed is over the limit of 1000"):
        extract(big, tmp_path, ZipLimits(max_total=1000))
    bomb = _zip(tmp_path / "bomb.zip", [("ceros.dcm", b"\0" * (4 << 20))], zipfile.ZIP_DEFLATED)
    with pytest.raises(InputError, match="compression ratio over 200"):
        extract(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_lying_header_is_caught_while_inflating(tmp_path):
    archive = _zip(tmp_path / "d.zip", [("a.dcm", b"y" * 5000)])
    data = bytearray(archive.read_bytes())
    # Shrink the declared size in the central directory (and local header) to 100 bytes.
    for sig in (b"PK\x01\x02", b"PK\x03\x04"):
        i = data.find(sig)
        off = 24 if sig == b"PK\x01\x02" else 22
        data[i + off:i + off + 4] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match="zip member 1"):
        extract(archive, tmp_path / "out", ZipLimits(max_member=1000))


def test_good_archive_keeps_member_names(tmp_path):
    archive = _zip(tmp_path / "d.zip", [("serie/1.dcm", b"uno"), ("serie/2.dcm", b"dos")])
    got = extract(archive, tmp_path / "out")
    assert [(p.read_bytes(), rel) for p, rel in got] == [(b"uno", "serie/1.dcm"),
                                                         (b"dos", "serie/2.dcm")]


def test_a_name_the_file_system_refuses_is_a_clear_error(tmp_path):
    archive = _zip(tmp_path / "d.zip", [("x" * 300 + "/a.dcm", b"x")])
    with pytest.raises(InputError, match="zip member 1: cannot be read"):
        extract(archive, tmp_path / "out")
