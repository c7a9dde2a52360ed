"""anonymizer.files: atomic writes with their final mode from the first byte."""

from __future__ import annotations

import os
import stat

import pytest

from anonymizer import files


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_secret_is_0600_and_its_new_folders_0700(tmp_path):
    target = tmp_path / "a" / "b" / "key"
    files.write_secret(target, b"k")
    assert target.read_bytes() == b"k"
    assert mode(target) == 0o600
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700


def test_public_file_and_replacement(tmp_path):
    target = tmp_path / "f.json"
    files.atomic_write(target, "one")
    files.atomic_write(target, "two")
    assert target.read_text() == "two"
    assert mode(target) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_mode_set_before_the_first_byte(tmp_path, monkeypatch):
    seen = []
    real_fdopen = os.fdopen

    def spy(fd, *args, **kwargs):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(files.os, "fdopen", spy)
    files.write_secret(tmp_path / "s", "secret")
    assert seen == [0o600]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "f"
    files.atomic_write(target, "old")

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        files.atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_private_dir_tightens_an_existing_folder(tmp_path):
    d = tmp_path / "d"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    files.private_dir(d)
    assert mode(d) == 0o700


def test_read_secret_refuses_loose_modes_and_links(tmp_path):
    good = files.write_secret(tmp_path / "k", b"s3cret")
    assert files.read_secret(good) == b"s3cret"
    loose = tmp_path / "loose"
    loose.write_bytes(b"s3cret")
    os.chmod(loose, 0o640)
    with pytest.raises(files.LooseSecretError, match="chmod 600") as e:
        files.read_secret(loose)
    assert "s3cret" not in str(e.value)
    (tmp_path / "link").symlink_to(good)
    with pytest.raises(OSError):
        files.read_secret(tmp_path / "link")
