"""The default ``file_extensions`` of Ray Data 2.60's ``read_audio`` and ``read_videos``.

Kept apart from the datasources so the public functions can use them as their signatures'
defaults without importing fsspec (which every file datasource imports) at ``import streamscope``.
"""

from __future__ import annotations

AUDIO_EXTENSIONS = ["mp3", "wav", "aac", "flac", "ogg", "m4a", "wma", "alac", "aiff", "pcm", "amr", "opus", "ra",
                    "rm", "au", "mid", "midi", "caf"]
"""``read_audio``'s defaults (libsndfile decodes wav, flac, ogg, mp3, aiff, au, caf... of them)."""

VIDEO_EXTENSIONS = ["mp4", "mkv", "mov", "avi", "wmv", "flv", "webm", "m4v", "3gp", "mpeg", "mpg", "ts", "ogv",
                    "rm", "rmvb", "vob", "asf", "f4v", "m2ts", "mts", "divx", "xvid", "mxf"]
"""``read_videos``'s defaults."""
