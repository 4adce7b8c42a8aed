"""read_videos (PyAV): Ray Data 2.60's columns and semantics (decord's, which Ray uses) on small
videos this module encodes: 20 frames of 32x24, each a solid colour that encodes its index."""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pyarrow as pa
import pytest

av = pytest.importorskip("av")

import streamscope  # noqa: E402
from streamscope import DataSourceError  # noqa: E402
from streamscope.datasource import Partitioning  # noqa: E402
from streamscope.engine.io.video_datasource import VideoDatasource  # noqa: E402

W, H, N, RATE = 32, 24, 20, 10
TOL = 4  # YUV round trip of a solid colour (lossless codecs, 4:4:4): off by one at most in practice


def _colour(i: int) -> tuple[int, int, int]:
    return 12 * i, 255 - 12 * i, 100


def _encode(path, codec, options, images, rate=RATE, rotation=None):
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = images[0].shape[1], images[0].shape[0]
        stream.pix_fmt = "yuv444p"
        stream.options = options
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _solid_frames(n=N):
    return [np.broadcast_to(np.array(_colour(i), np.uint8), (H, W, 3)).copy() for i in range(n)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    _encode(root / "clip.mp4", "libx264", {"qp": "0"}, _solid_frames())
    _encode(root / "clip.webm", "libvpx-vp9", {"lossless": "1"}, _solid_frames())
    return root


def _decoded_by_pyav(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _index_of(frame: np.ndarray) -> int:
    return int(round(float(frame[..., 0].mean()) / 12))


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_every_frame_in_order_as_rgb_uint8(videos, name):
    rows = streamscope.read_videos(str(videos / name)).take_all()
    assert [r["frame_index"] for r in rows] == list(range(N))
    expected = _decoded_by_pyav(videos / name)
    for row, pyav_frame in zip(rows, expected):
        assert row["frame"].dtype == np.uint8 and row["frame"].shape == (H, W, 3)
        np.testing.assert_array_equal(row["frame"], pyav_frame)
        colour = np.array(_colour(row["frame_index"]))
        assert np.abs(row["frame"].reshape(-1, 3).astype(int) - colour).max() <= TOL
    assert set(rows[0]) == {"frame", "frame_index"}


def test_schema_column_types(videos):
    ds = streamscope.read_videos(str(videos / "clip.mp4"), include_timestamps=True, include_paths=True)
    schema = ds.schema()
    assert schema.names == ["frame", "frame_index", "frame_timestamp", "path"]
    frame, index, stamp, path = schema.types
    assert frame.value_type == pa.uint8() and list(frame.shape) == [H, W, 3]
    assert index == pa.int64() and path == pa.string()
    assert stamp.value_type == pa.float32() and list(stamp.shape) == [2]


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_timestamps_are_start_end_seconds(videos, name):
    rows = streamscope.read_videos(str(videos / name), include_timestamps=True).take_all()
    stamps = np.stack([r["frame_timestamp"] for r in rows])
    assert stamps.dtype == np.float32 and stamps.shape == (N, 2)
    expected = np.array([[i / RATE, (i + 1) / RATE] for i in range(N)], np.float32)
    np.testing.assert_allclose(stamps, expected, atol=1e-6)


@pytest.mark.parametrize("fps, stride", [(5, 2), (3, 3), (4, 2), (10, 1), (30, 1)])
def test_fps_keeps_every_stride_th_frame_with_its_original_index(videos, fps, stride):
    # Ray: stride = max(1, round(source_fps / fps)); round(10/3) = 3, round(10/4) = round(2.5) = 2
    rows = streamscope.read_videos(str(videos / "clip.mp4"), fps=fps, include_timestamps=True).take_all()
    kept = list(range(0, N, stride))
    assert [r["frame_index"] for r in rows] == kept
    assert [_index_of(r["frame"]) for r in rows] == kept  # the frames themselves, not just the labels
    assert [float(r["frame_timestamp"][0]) for r in rows] == pytest.approx([i / RATE for i in kept], abs=1e-6)


def test_resize_is_height_width_and_keeps_the_layout(tmp_path):
    image = np.zeros((H, W, 3), np.uint8)
    image[:, : W // 2] = (255, 0, 0)  # left half red
    image[:, W // 2:] = (0, 0, 255)   # right half blue
    image[: H // 2, :, 1] = 255        # top half with green
    _encode(tmp_path / "halves.mkv", "ffv1", {}, [image] * 3)
    frame = streamscope.read_videos(str(tmp_path / "halves.mkv"), resize=(12, 20)).take(1)[0]["frame"]
    assert frame.shape == (12, 20, 3)

    def near(pixel, colour):
        return np.abs(pixel.astype(int) - np.array(colour)).max() <= TOL

    assert near(frame[9, 2], (255, 0, 0)) and near(frame[9, 17], (0, 0, 255))
    assert near(frame[2, 2], (255, 255, 0)) and near(frame[2, 17], (0, 255, 255))
    with av.open(str(tmp_path / "halves.mkv")) as container:  # FFmpeg's bilinear swscale, as decord
        first = next(container.decode(video=0))
        np.testing.assert_array_equal(frame, first.to_ndarray(format="rgb24", width=20, height=12,
                                                               interpolation="BILINEAR"))


def test_display_rotation_gives_upright_frames(tmp_path):
    image = np.zeros((H, W, 3), np.uint8)
    image[: H // 2, : W // 2] = 255  # top-left quadrant white, as stored
    _encode(tmp_path / "rotated.mp4", "libx264", {"qp": "0"}, [image] * 2, rotation=90)
    rows = streamscope.read_videos(str(tmp_path / "rotated.mp4")).take_all()
    upright = np.rot90(image, k=1)  # the display matrix turns it 90 degrees counter-clockwise
    assert rows[0]["frame"].shape == (W, H, 3)
    assert np.abs(rows[0]["frame"].astype(int) - upright).max() <= TOL
    resized = streamscope.read_videos(str(tmp_path / "rotated.mp4"), resize=(16, 12)).take(1)[0]["frame"]
    assert resized.shape == (16, 12, 3) and resized[12, 3].min() > 200 and resized[3, 3].max() < 50


def test_block_streaming_one_video_yields_several_blocks(videos, ctx):
    ctx.target_max_block_size = 5 * H * W * 3  # five frames per block
    task, = VideoDatasource(str(videos / "clip.mp4")).get_read_tasks(1)
    blocks = iter(task())
    first = next(blocks)  # handed out before the rest of the video is decoded
    assert first.column("frame_index").to_pylist() == [0, 1, 2, 3, 4]
    assert [b.num_rows for b in blocks] == [5, 5, 5]
    ctx.target_max_block_size = 128 << 20
    limited, = VideoDatasource(str(videos / "clip.mp4")).apply_limit(3).get_read_tasks(1)
    assert [b.column("frame_index").to_pylist() for b in limited()] == [[0, 1, 2]]  # stops decoding at the limit


def test_several_files_several_read_tasks_and_paths(videos):
    assert len(VideoDatasource(str(videos)).get_read_tasks(4)) == 2
    rows = streamscope.read_videos(str(videos), include_paths=True).take_all()
    names = sorted({r["path"].rsplit("/", 1)[-1] for r in rows})
    assert names == ["clip.mp4", "clip.webm"] and len(rows) == 2 * N
    assert all(r["path"].startswith(str(videos)) for r in rows)


def test_hive_partitions_label_every_frame(videos, tmp_path):
    (tmp_path / "camera=front").mkdir()
    (tmp_path / "camera=front" / "a.webm").write_bytes((videos / "clip.webm").read_bytes())
    rows = streamscope.read_videos(str(tmp_path), partitioning=Partitioning("hive"), fps=10).take_all()
    assert len(rows) == N and {r["camera"] for r in rows} == {"front"}


def test_projection_without_frame_skips_the_rgb_conversion(videos):
    ds = streamscope.read_videos(str(videos / "clip.mp4"), include_timestamps=True).select_columns(
        ["frame_index", "frame_timestamp"])
    assert "columns=['frame_index', 'frame_timestamp']" in ds._explain().text()
    rows = ds.take_all()
    assert [r["frame_index"] for r in rows] == list(range(N)) and "frame" not in rows[0]
    assert streamscope.read_videos(str(videos)).count() == 2 * N
    assert len(streamscope.read_videos(str(videos / "clip.mp4")).limit(3).take_all()) == 3


def test_compressed_video_is_decompressed_as_ray_does(videos, tmp_path):
    import gzip

    (tmp_path / "clip.webm.gz").write_bytes(gzip.compress((videos / "clip.webm").read_bytes()))
    rows = streamscope.read_videos(str(tmp_path / "clip.webm.gz"), file_extensions=None).take_all()
    assert [_index_of(r["frame"]) for r in rows] == list(range(N))


@pytest.mark.parametrize("kwargs, message", [
    ({"fps": 0}, "fps must be a positive integer"),
    ({"fps": 2.5}, "fps must be a positive integer"),
    ({"resize": (24,)}, r"resize must be two integers \(height, width\)"),
    ({"resize": (0, 10)}, "resize must hold positive integers"),
    ({"arrow_open_stream_args": {"mode": "rb"}}, r"arrow_open_stream_args keys \['mode'\]"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        streamscope.read_videos(str(tmp_path / "does-not-exist"), **kwargs)


def test_undecodable_file_names_the_file(tmp_path):
    (tmp_path / "garbage.mp4").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.webm").write_bytes(b"")
    for name in ("garbage.mp4", "empty.webm"):
        with pytest.raises(DataSourceError, match=rf"{name}.*cannot open this file as a video"):
            streamscope.read_videos(str(tmp_path / name)).take_all()


def test_missing_pyav_names_the_media_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r"read_videos needs the 'av' package.*streamscope\[media\]"):
        streamscope.read_videos(str(tmp_path / "nothing-here"))


def test_signature_is_ray_datas():
    ray_data = pytest.importorskip("ray.data")
    ours, theirs = inspect.signature(streamscope.read_videos), inspect.signature(ray_data.read_videos)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]
