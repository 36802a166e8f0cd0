"""Reading a file for an edit, and writing it back atomically only if nobody changed it since.

The new content goes to a temporary file in the same directory (same file system), gets the old
file's mode, is flushed to disk, and is renamed over the old file: readers see the old or the new
file, never half of one. Just before the rename the file is read again and its content hash
compared with the one read at first; any difference refuses the write. (A change landing in the
microseconds between that check and the rename cannot be detected without locks editors do not
take.)
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codellama_lsp.errors import UserError
from codellama_lsp.syntax.source_files import SourceFile, read_source

BOM = "\ufeff".encode("utf-8")


@dataclass(frozen=True)
class Snapshot:
    """A file as read for an edit."""

    source: SourceFile  # decoded text (BOM removed)
    data: bytes  # the bytes on disk
    digest: str  # sha256 of `data`

    def encode(self, text: str) -> bytes:
        """`text` as bytes for this file (UTF-8, with the BOM if the file had one)."""
        return (BOM if self.data.startswith(BOM) else b"") + text.encode("utf-8")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_snapshot(path: Path) -> Snapshot:
    """Read `path` for an edit (clear one-line errors for missing, binary or non-UTF-8 files)."""
    source = read_source(path)
    data = _read_bytes(path)
    snapshot = Snapshot(source, data, content_hash(data))
    if snapshot.encode(source.text) != data:
        raise UserError(f"{path}: changed while being read; try again")
    return snapshot


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def check_writable(path: Path) -> None:
    """Refuse a file that is read-only (by its mode: root could write it anyway) or missing."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: not a regular file")
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        raise UserError(f"{path}: file is read-only; not written")


def write_atomically(path: Path, data: bytes, expected_digest: str) -> None:
    """Replace `path`'s content with `data` if its content still hashes to `expected_digest`."""
    target = Path(os.path.realpath(path))  # replace the file a symlink points to, not the link
    if not target.exists():
        raise UserError(f"{path}: file was removed since it was read; not written")
    check_writable(target)
    info = target.stat()
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".codellama-tmp")
    except OSError as exc:
        raise UserError(f"{path}: cannot write in {target.parent} ({exc.strerror}); "
                        "not written") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        _keep_owner(temporary, info)
        if not target.exists() or content_hash(_read_bytes(target)) != expected_digest:
            raise UserError(f"{path}: file changed since it was read; not written")
        os.replace(temporary, target)
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror}); not written") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _keep_owner(path: str, info: os.stat_result) -> None:
    """Give the new file the old one's owner where allowed (only root may, and must)."""
    if hasattr(os, "chown") and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(path, info.st_uid, info.st_gid)
        except PermissionError:
            pass
