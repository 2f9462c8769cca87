"""The camera's test pattern and tone (DESIGN "Media"; SPEC L5).

Scrolling colour bars, a box sweeping the picture once a second, text lines and the frame
counter stripe (``bwlab.wire.frame_code``); a 1 kHz tone with a beep every second.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bwlab.wire.frame_code import FRAME_CODE_BITS, frame_code_geometry

from .stream import AAC_FRAME_SAMPLES

_BARS = np.array(
    [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191)],
    dtype=np.uint8,
)
BARS_PERIOD_SECONDS = 8
"""The colour bars scroll one picture width in this many seconds (a whole shared loop)."""


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


class TestPattern:
    """Renders the camera's pictures: scrolling colour bars, a box that sweeps the picture once a
    second, text lines (user, clock, counter) on a dark band, and the frame counter as a stripe
    of ``FRAME_CODE_BITS`` black/white blocks that ``read_frame_code`` reads back."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.width, self.height, self.fps = width, height, fps
        self._font_size = max(10, height // 15)
        self._line_height = self._font_size + 2
        bar_width = -(-width // len(_BARS))
        row = np.repeat(_BARS, bar_width, axis=0)[:width]
        self._bars = np.tile(np.concatenate([row, row]), (height, 1, 1))
        self._block, self._code_top, self._code_height = frame_code_geometry(width, height)

    def render(self, index: int, lines: Iterable[str]) -> av.VideoFrame:
        width, height, fps = self.width, self.height, self.fps
        scroll = (index * width // (fps * BARS_PERIOD_SECONDS)) % width
        picture = self._bars[:, scroll : scroll + width].copy()
        box = max(8, height // 10)
        x = (index % fps) * (width - box) // max(1, fps - 1)
        top = self._code_top - box - 2
        picture[top : top + box, x : x + box] = 255
        code = picture[self._code_top :]
        code[:] = 0
        for bit in range(FRAME_CODE_BITS):
            if index >> (FRAME_CODE_BITS - 1 - bit) & 1:
                code[:, bit * self._block : (bit + 1) * self._block] = 255
        image = Image.fromarray(picture)
        draw = ImageDraw.Draw(image)
        lines = list(lines)
        draw.rectangle((0, 0, width, 4 + self._line_height * len(lines)), fill=(16, 16, 16))
        font = _font(self._font_size)
        for number, line in enumerate(lines):
            draw.text((4, 3 + number * self._line_height), line, fill=(235, 235, 235), font=font)
        return av.VideoFrame.from_image(image)


class Tone:
    """A 1 kHz sine, quiet, rising to a 100 ms beep at the start of every second (the beep and
    the keyframe share the second, so a viewer can check lip sync)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        t = np.arange(sample_rate) / sample_rate
        envelope = np.full(sample_rate, 0.08)
        beep = int(0.1 * sample_rate)
        ramp = int(0.005 * sample_rate)
        envelope[:beep] = 0.5
        envelope[beep - ramp : beep] = np.linspace(0.5, 0.08, ramp)
        envelope[:ramp] = np.linspace(0.08, 0.5, ramp)
        second = (envelope * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
        self._two_seconds = np.concatenate([second, second])

    def frame(self, index: int) -> av.AudioFrame:
        """AAC frame ``index``: samples ``[1024 index, 1024 (index + 1))`` of the tone."""
        start = index * AAC_FRAME_SAMPLES % self.sample_rate
        samples = self._two_seconds[None, start : start + AAC_FRAME_SAMPLES]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = index * AAC_FRAME_SAMPLES
        frame.time_base = Fraction(1, self.sample_rate)
        return frame


def format_camera_clock(seconds: float) -> str:
    """The camera clock as drawn on the picture: UTC date and time to the millisecond."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    stamp = datetime.fromtimestamp(whole, tz=UTC)
    return f"{stamp:%Y-%m-%d %H:%M:%S}.{millis:03d} UTC"
