"""Decoding a camera's stream from memory, as a player would (DESIGN "Media"; SPEC D6, L5).

The reference viewer (``bwlab.viewer``) and the media tests decode an init segment and its
fragments with PyAV and read back each picture's frame counter (``bwlab.wire.frame_code``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import av
import numpy as np

from .frame_code import read_frame_code


def probe(init: bytes, chunks: Iterable[bytes]) -> dict:
    """Decode ``init`` followed by ``chunks`` from memory, as a player would.

    Returns ``video_frames`` and ``audio_frames`` (decoded pictures and AAC frames),
    ``audio_samples``, ``video_times`` and ``audio_times`` (presentation times in seconds, in
    decoding order), ``keyframes`` (indices of the key pictures), ``counters`` (the frame counter
    read back from each picture's stripe), and ``width``, ``height``, ``sample_rate``.
    """
    data = init + b"".join(chunks)
    result: dict = {
        "video_frames": 0,
        "audio_frames": 0,
        "audio_samples": 0,
        "video_times": [],
        "audio_times": [],
        "keyframes": [],
        "counters": [],
        "width": 0,
        "height": 0,
        "sample_rate": 0,
    }
    with av.open(io.BytesIO(data), "r", format="mp4") as container:
        for packet in container.demux():
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    plane = frame.planes[0]
                    luma = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
                    luma = luma[: frame.height, : frame.width]
                    if frame.key_frame:
                        result["keyframes"].append(result["video_frames"])
                    result["video_frames"] += 1
                    result["video_times"].append(float(frame.time))
                    result["counters"].append(read_frame_code(luma))
                    result["width"], result["height"] = frame.width, frame.height
                elif isinstance(frame, av.AudioFrame):
                    assert frame.time is not None  # demuxed MP4 samples all have a time stamp
                    result["audio_frames"] += 1
                    result["audio_samples"] += frame.samples
                    result["audio_times"].append(float(frame.time))
                    result["sample_rate"] = frame.sample_rate
    return result
