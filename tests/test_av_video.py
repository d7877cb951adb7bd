"""Annotated videos through PyAV: H.264 in MP4 that browsers play, the source's audio kept, each frame at
its own timestamp. Skipped without PyAV (`pip install 'ferkit[video]'`)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tests._faces_fixtures import people_frames, tiny_checkpoint

av = pytest.importorskip("av", reason="PyAV not installed (pip install 'ferkit[video]')")

from ferkit.predict import load  # noqa: E402
from ferkit.predict.run import run_predict  # noqa: E402
from ferkit.predict.sinks import AnnotatedSaver  # noqa: E402

TB = Fraction(1, 1000)


def _source(path, times_ms: list[int], audio: str | None = "aac"):
    """An MP4 (H.264 at the given frame times, variable rate allowed) with a 440 Hz tone when `audio` is set."""
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=25)
    video.width, video.height, video.pix_fmt, video.time_base = 480, 320, "yuv420p", TB
    sound = None
    if audio:
        sound = out.add_stream(audio, rate=48000)
        sound.layout = "mono"
    for (img, _), t in zip(people_frames(len(times_ms)), times_ms, strict=True):
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = t, TB
        for p in video.encode(frame):
            out.mux(p)
    for p in video.encode():
        out.mux(p)
    if sound is not None:
        seconds = times_ms[-1] / 1000 + 0.04
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(48000 * seconds)) / 48000)
        fmt = "s16" if audio.startswith("pcm") else "flt"
        tone = (tone * 32767).astype(np.int16) if fmt == "s16" else tone.astype(np.float32)
        for i in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, i : i + 1024], format=fmt, layout="mono")
            chunk.sample_rate, chunk.pts = 48000, i
            for p in sound.encode(chunk):
                out.mux(p)
        for p in sound.encode():
            out.mux(p)
    out.close()
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors")


def test_annotated_video_is_h264_with_the_sources_audio_and_duration(ckpt, tmp_path):
    src = _source(tmp_path / "talk.mp4", [40 * i for i in range(50)])  # 2 s at 25 fps
    out = run_predict(src, load(ckpt), [AnnotatedSaver(tmp_path / "out")])
    (video,) = [p for p in out.written if p.suffix == ".mp4"]
    with av.open(str(video)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
        assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.name == "aac"
        frames = list(c.decode(video=0))
        assert len(frames) == 50
        assert abs(float(c.duration / av.time_base) - 2.0) < 0.15
        assert np.asarray(frames[10].to_ndarray(format="rgb24")).std() > 10  # a real picture, annotated


def test_variable_frame_rate_keeps_each_frames_time(ckpt, tmp_path):
    times = [0, 40, 80, 200, 240, 400, 440, 480]  # gaps of 120 and 160 ms: a variable-rate source
    src = _source(tmp_path / "vfr.mp4", times, audio=None)
    results = load(ckpt).predict(src)
    assert [round(r.timestamp * 1000) for r in results] == times  # results hold the container's times
    out = run_predict(src, load(ckpt), [AnnotatedSaver(tmp_path / "out")])
    (video,) = [p for p in out.written if p.suffix == ".mp4"]
    with av.open(str(video)) as c:
        got = [round(float(f.time) * 1000) for f in c.decode(video=0)]
        assert got == times and not c.streams.audio


def test_audio_mp4_cannot_hold_is_re_encoded_to_aac(ckpt, tmp_path):
    src = _source(tmp_path / "pcm.mkv", [40 * i for i in range(25)], audio="pcm_s16le")
    out = run_predict(src, load(ckpt), [AnnotatedSaver(tmp_path / "out")], max_frames=10)
    (video,) = [p for p in out.written if p.suffix == ".mp4"]
    with av.open(str(video)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        assert len(list(c.decode(video=0))) == 10
    with av.open(str(video)) as c:
        audio_end = max(float(f.time) for f in c.decode(audio=0))
        assert 0.2 < audio_end < 0.6  # trimmed to the 10 frames written (0.4 s), not the source's 1 s
