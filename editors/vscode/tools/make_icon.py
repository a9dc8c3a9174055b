"""Draw the extension's icon (images/icon.png, 128x128): three connected nodes on a rounded square.

Plain Python (zlib + struct), no image library: `python tools/make_icon.py`.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

SIZE = 128
SAMPLES = 4  # supersampling per axis, for smooth edges
BACKGROUND = (30, 64, 120)
LIGHT = (255, 255, 255)
ACCENT = (255, 196, 61)
NODES = [((40.0, 44.0), 14.0, LIGHT), ((90.0, 40.0), 12.0, LIGHT), ((64.0, 92.0), 16.0, ACCENT)]
EDGES = [(0, 1), (0, 2), (1, 2)]


def segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def inside_rounded_square(x: float, y: float, radius: float = 24.0) -> bool:
    cx = min(max(x, radius), SIZE - radius)
    cy = min(max(y, radius), SIZE - radius)
    return math.hypot(x - cx, y - cy) <= radius


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    for centre, radius, colour in NODES:
        if math.hypot(x - centre[0], y - centre[1]) <= radius:
            return (*colour, 255)
    for i, j in EDGES:
        if segment_distance(x, y, NODES[i][0], NODES[j][0]) <= 3.5:
            return (*LIGHT, 255)
    return (*BACKGROUND, 255)


def pixel(x: int, y: int) -> bytes:
    total = [0, 0, 0, 0]
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            r, g, b, a = colour_at(x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES)
            total[0] += r * a
            total[1] += g * a
            total[2] += b * a
            total[3] += a
    alpha = total[3]
    if alpha == 0:
        return bytes(4)
    return bytes(
        [total[0] // alpha, total[1] // alpha, total[2] // alpha, alpha // (SAMPLES * SAMPLES)]
    )


def png() -> bytes:
    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(SIZE)) for y in range(SIZE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "images" / "icon.png"
    target.write_bytes(png())
    print(target)
