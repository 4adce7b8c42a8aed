"""read_audio (soundfile): the columns, dtypes and layout of Ray Data 2.60's reader, checked on
WAV/FLAC files this module writes (sine waves of known amplitude), against soundfile itself."""

from __future__ import annotations

import gzip
import inspect
import sys

import numpy as np
import pyarrow as pa
import pytest

soundfile = pytest.importorskip("soundfile")

import streamscope  # noqa: E402
from streamscope import DataSourceError  # noqa: E402
from streamscope.datasource import Partitioning  # noqa: E402
from streamscope.engine.io.audio_datasource import AudioDatasource  # noqa: E402


def _sine(rate: int, n: int, freq: float, amp: float) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    """mono.wav (16 kHz PCM_16, amplitude 0.5) and stereo.flac (22.05 kHz, 0.25 / 0.75)."""
    root = tmp_path_factory.mktemp("audio")
    soundfile.write(root / "mono.wav", _sine(16000, 1600, 440, 0.5), 16000, subtype="PCM_16")
    stereo = np.stack([_sine(22050, 2205, 300, 0.25), _sine(22050, 2205, 600, 0.75)], axis=1)
    soundfile.write(root / "stereo.flac", stereo, 22050)
    return root


def _by_name(rows):
    return {r["path"].rsplit("/", 1)[-1]: r for r in rows}


def test_amplitude_is_channels_by_samples_float32_as_soundfile_reads_it(audio_dir):
    rows = _by_name(streamscope.read_audio(str(audio_dir), include_paths=True).take_all())
    assert sorted(rows) == ["mono.wav", "stereo.flac"]
    for name, rate, channels, n in (("mono.wav", 16000, 1, 1600), ("stereo.flac", 22050, 2, 2205)):
        row = rows[name]
        expected, expected_rate = soundfile.read(audio_dir / name, dtype="float32", always_2d=True)
        assert row["amplitude"].dtype == np.float32
        assert row["amplitude"].shape == (channels, n)
        np.testing.assert_array_equal(row["amplitude"], expected.T)
        assert row["sample_rate"] == rate == expected_rate
        assert isinstance(row["sample_rate"], int)
    # the signal itself, within 16-bit quantisation / FLAC's (lossless, 16-bit) precision
    np.testing.assert_allclose(rows["mono.wav"]["amplitude"][0], _sine(16000, 1600, 440, 0.5), atol=2 / 32768)
    np.testing.assert_allclose(rows["stereo.flac"]["amplitude"][1], _sine(22050, 2205, 600, 0.75), atol=2 / 32768)
    assert abs(rows["stereo.flac"]["amplitude"][0]).max() == pytest.approx(0.25, abs=1e-3)


def test_schema_and_column_order(audio_dir):
    ds = streamscope.read_audio(str(audio_dir / "mono.wav"), include_paths=True)
    schema = ds.schema()
    assert schema.names == ["amplitude", "sample_rate", "path"]
    amplitude_type, rate_type, path_type = schema.types
    assert amplitude_type.value_type == pa.float32() and list(amplitude_type.shape) == [1, 1600]
    assert rate_type == pa.int64() and path_type == pa.string()


def test_files_of_different_shapes_in_one_block_are_variable_shape(audio_dir):
    table = streamscope.read_audio(str(audio_dir), override_num_blocks=1).to_arrow()
    shapes = sorted(a.shape for a in (r["amplitude"] for r in streamscope.from_arrow(table).take_all()))
    assert shapes == [(1, 1600), (2, 2205)]


def test_several_files_make_several_read_tasks(audio_dir):
    source = AudioDatasource(str(audio_dir))
    assert len(source.get_read_tasks(4)) == 2
    assert len(source.get_read_tasks(1)) == 1
    assert streamscope.read_audio(str(audio_dir), override_num_blocks=2).count() == 2


def test_hive_partitions_add_columns(tmp_path):
    for label in ("cat", "dog"):
        (tmp_path / f"label={label}").mkdir()
        soundfile.write(tmp_path / f"label={label}" / "a.wav", _sine(8000, 80, 100, 0.1), 8000)
    rows = streamscope.read_audio(str(tmp_path), partitioning=Partitioning("hive")).take_all()
    assert sorted(r["label"] for r in rows) == ["cat", "dog"]
    assert all(r["amplitude"].shape == (1, 80) for r in rows)


def test_projection_without_amplitude_reads_headers_only(audio_dir, monkeypatch, run_tasks):
    ds = streamscope.read_audio(str(audio_dir)).select_columns(["sample_rate"])
    assert "columns=['sample_rate']" in ds._explain().text()
    assert sorted(r["sample_rate"] for r in ds.take_all()) == [16000, 22050]

    def no_decoding(*args, **kwargs):
        raise AssertionError("samples decoded although amplitude was not asked for")

    monkeypatch.setattr(soundfile, "read", no_decoding)  # in this process: run the tasks here
    table = run_tasks(AudioDatasource(str(audio_dir)).apply_projection(["sample_rate"]), pickle=False)
    assert table.column_names == ["sample_rate"] and sorted(table.column("sample_rate").to_pylist()) == [16000, 22050]
    with pytest.raises(DataSourceError, match="samples decoded"):
        run_tasks(AudioDatasource(str(audio_dir)), pickle=False)


def test_limit_stops_reading(audio_dir):
    assert len(streamscope.read_audio(str(audio_dir)).limit(1).take_all()) == 1


def test_gzip_files_decompress_by_name_or_by_arrow_open_stream_args(audio_dir, tmp_path):
    data = (audio_dir / "mono.wav").read_bytes()
    (tmp_path / "mono.wav.gz").write_bytes(gzip.compress(data))
    (tmp_path / "zipped.audio").write_bytes(gzip.compress(data))
    expected, _ = soundfile.read(audio_dir / "mono.wav", dtype="float32", always_2d=True)
    by_name = streamscope.read_audio(str(tmp_path / "mono.wav.gz"), file_extensions=None).take(1)[0]
    np.testing.assert_array_equal(by_name["amplitude"], expected.T)
    explicit = streamscope.read_audio(str(tmp_path / "zipped.audio"), file_extensions=None,
                                      arrow_open_stream_args={"compression": "gzip", "buffer_size": 4096}).take(1)[0]
    np.testing.assert_array_equal(explicit["amplitude"], expected.T)


def test_bad_arrow_open_stream_args_are_refused_by_name(audio_dir):
    with pytest.raises(ValueError, match=r"arrow_open_stream_args keys \['bogus'\]"):
        streamscope.read_audio(str(audio_dir), arrow_open_stream_args={"bogus": 1})
    with pytest.raises(ValueError, match="compression='rar'"):
        streamscope.read_audio(str(audio_dir), arrow_open_stream_args={"compression": "rar"})


def test_default_extensions_skip_other_files(audio_dir, tmp_path):
    (tmp_path / "notes.txt").write_text("not audio")
    soundfile.write(tmp_path / "a.wav", np.zeros(10), 8000)
    assert streamscope.read_audio(str(tmp_path)).count() == 1


def test_undecodable_file_names_the_file(tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"RIFF but not really a wave file")
    with pytest.raises(DataSourceError, match=r"broken\.wav.*cannot decode this file as audio"):
        streamscope.read_audio(str(tmp_path)).take_all()


def test_missing_soundfile_names_the_media_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(ImportError, match=r"read_audio needs the 'soundfile' package.*streamscope\[media\]"):
        streamscope.read_audio(str(tmp_path / "nothing-here"))  # raised before the paths are even looked at


def test_signature_is_ray_datas():
    ray_data = pytest.importorskip("ray.data")
    ours, theirs = inspect.signature(streamscope.read_audio), inspect.signature(ray_data.read_audio)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]
