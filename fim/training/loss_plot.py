"""The loss curve as a PNG: matplotlib when installed (the `train` extra), else a plain one."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

WIDTH, HEIGHT, MARGIN = 640, 360, 20


def plot_losses(losses: list[tuple[int, float]], path: Path) -> Path:
    """Plot loss against trained tokens into `path`."""
    try:
        import matplotlib
    except ImportError:
        return _plain_png(losses, path)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    axes.plot([t for t, _ in losses], [loss for _, loss in losses], linewidth=0.8)
    axes.set_xlabel("tokens trained")
    axes.set_ylabel("training loss")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _plain_png(losses: list[tuple[int, float]], path: Path) -> Path:
    """A black line on white, axes implied by the margins (no labels without matplotlib)."""
    pixels = [[255] * WIDTH for _ in range(HEIGHT)]
    if losses:
        top = max(loss for _, loss in losses)
        low = min(loss for _, loss in losses)
        span = (top - low) or 1.0
        for i, (_, loss) in enumerate(losses):
            x = MARGIN + i * (WIDTH - 2 * MARGIN - 1) // max(len(losses) - 1, 1)
            y = MARGIN + int((top - loss) / span * (HEIGHT - 2 * MARGIN - 1))
            pixels[y][x] = 0
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0,
                                                             0, 0, 0))
    png += _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
