"""The write step of an edit, on the real file system: atomic, mode kept, and refused (leaving
the file byte for byte as it was) when the file is read-only, removed, or changed since read."""

from __future__ import annotations

import os
import stat

import pytest

from codellama_lsp.edits.atomic_write import content_hash, read_snapshot, write_atomically
from codellama_lsp.errors import UserError

pytestmark = pytest.mark.unit

ORIGINAL = "def add(a, b):\r\n    return a + b\r\n"


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "calc.py"
    path.write_bytes(ORIGINAL.encode())
    return path


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".codellama-tmp"))


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600])
def test_write_replaces_content_and_keeps_mode(source, mode):
    os.chmod(source, mode)
    snapshot = read_snapshot(source)
    write_atomically(source, snapshot.encode("x = 1\r\n"), snapshot.digest)
    assert source.read_bytes() == b"x = 1\r\n"
    assert stat.S_IMODE(source.stat().st_mode) == mode
    assert leftovers(source.parent) == []


def test_file_changed_since_read_is_refused_and_kept(source):
    snapshot = read_snapshot(source)
    source.write_bytes(b"changed by the user\n")
    with pytest.raises(UserError, match="changed since it was read; not written"):
        write_atomically(source, snapshot.encode("x = 1\n"), snapshot.digest)
    assert source.read_bytes() == b"changed by the user\n"
    assert leftovers(source.parent) == []


def test_same_size_same_mtime_change_is_still_seen(source):
    # The check compares content, not size or time stamps.
    info = source.stat()
    snapshot = read_snapshot(source)
    changed = ORIGINAL.replace("a + b", "b + a").encode()
    source.write_bytes(changed)
    os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns))
    with pytest.raises(UserError, match="changed since it was read"):
        write_atomically(source, b"x", snapshot.digest)
    assert source.read_bytes() == changed


def test_read_only_file_is_refused_and_kept(source):
    snapshot = read_snapshot(source)
    os.chmod(source, 0o444)
    with pytest.raises(UserError, match="read-only; not written"):
        write_atomically(source, b"x = 1\n", snapshot.digest)
    assert source.read_bytes() == ORIGINAL.encode()
    assert stat.S_IMODE(source.stat().st_mode) == 0o444
    assert leftovers(source.parent) == []


def test_removed_file_is_refused_and_not_recreated(source):
    snapshot = read_snapshot(source)
    source.unlink()
    with pytest.raises(UserError, match="removed since it was read; not written"):
        write_atomically(source, b"x = 1\n", snapshot.digest)
    assert not source.exists()
    assert leftovers(source.parent) == []


def test_symlink_writes_its_target_and_stays_a_link(source, tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to(source)
    snapshot = read_snapshot(link)
    write_atomically(link, snapshot.encode("x = 1\n"), snapshot.digest)
    assert link.is_symlink() and source.read_bytes() == b"x = 1\n"


def test_byte_order_mark_is_kept(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfx = 1\n")
    snapshot = read_snapshot(path)
    assert snapshot.source.text == "x = 1\n"
    write_atomically(path, snapshot.encode("x = 2\n"), snapshot.digest)
    assert path.read_bytes() == b"\xef\xbb\xbfx = 2\n"


def test_digest_is_of_the_bytes_on_disk(source):
    assert read_snapshot(source).digest == content_hash(ORIGINAL.encode())
