"""The frame counter drawn into every camera picture, and reading it back (DESIGN "Media"; SPEC L5).

A camera's test pattern carries its frame counter as a stripe of ``FRAME_CODE_BITS``
black/white blocks along the bottom of the picture; a viewer reads it back from the decoded luma
plane to tell which frames arrived (no loss, no reordering, no repeat).
"""

from __future__ import annotations

import numpy as np

FRAME_CODE_BITS = 24
"""Bits of the frame counter drawn as a black/white stripe along the bottom of each picture."""


def frame_code_geometry(width: int, height: int) -> tuple[int, int, int]:
    """(block width, stripe top, stripe height) of the frame-counter stripe."""
    stripe = max(8, height // 20) & ~1
    return width // FRAME_CODE_BITS, height - stripe, stripe


def read_frame_code(luma: np.ndarray) -> int:
    """The frame counter encoded in the stripe of a decoded picture's luma plane (H × W)."""
    height, width = luma.shape
    block, top, stripe = frame_code_geometry(width, height)
    row = luma[top + stripe // 4 : top + stripe - stripe // 4]
    value = 0
    for bit in range(FRAME_CODE_BITS):
        centre = bit * block + block // 2
        cell = row[:, max(0, centre - block // 4) : centre + block // 4 + 1]
        value = (value << 1) | int(cell.mean() > 128)
    return value
