"""TorchVisionPreprocessor (Ray Data's): a torchvision-style transform applied to tensor or image
columns. Any callable works (a ``torchvision.transforms`` pipeline, or your own function); torch
is needed only to hand it tensors."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from streamscope.preprocessors.base import Preprocessor


def _stack(arrays: list) -> np.ndarray:
    """One ndarray when the outputs share a shape, else an object array of them (ragged)."""
    if arrays and all(a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays)
    out = np.empty(len(arrays), dtype=object)
    out[:] = arrays
    return out


class TorchVisionPreprocessor(Preprocessor):
    """Apply ``transform`` to each value of ``columns`` (an ndarray, handed over as a
    ``torch.Tensor``; when the transform rejects tensors with a TypeError, as the PIL-based
    ``ToTensor`` does, as the ndarray), or to each column's whole batch with ``batched=True``.
    The transform returns a ``torch.Tensor`` or ndarray. Needs no fit.

    Examples:
        >>> import numpy as np
        >>> from streamscope.preprocessors import TorchVisionPreprocessor
        >>> ds = streamscope.from_items([{"img": np.ones((2, 2), dtype=np.float32)}])
        >>> flip_sign = TorchVisionPreprocessor(columns=["img"], transform=lambda t: -t)
        >>> flip_sign.transform(ds).take()[0]["img"]
        array([[-1., -1.],
               [-1., -1.]], dtype=float32)
    """

    _is_fittable = False
    _batch_format = "numpy"

    def __init__(self, columns: list[str], transform: Callable[[Any], Any], output_columns: Optional[list[str]] = None,
                 batched: bool = False):
        super().__init__()
        if not callable(transform):
            raise TypeError(f"TorchVisionPreprocessor: transform must be callable, got {type(transform).__name__}")
        output_columns = list(output_columns) if output_columns else list(columns)
        if len(output_columns) != len(columns):
            raise ValueError(f"TorchVisionPreprocessor: output_columns ({len(output_columns)}) must match columns ({len(columns)}) in length")
        self.columns = list(columns)
        self.output_columns = output_columns
        self.torchvision_transform = transform
        self.batched = batched

    def _apply(self, array: np.ndarray) -> np.ndarray:
        import torch

        if isinstance(array, np.ndarray) and not array.flags.writeable:
            array = array.copy()  # blocks are read-only; torch wants to own writable memory
        try:
            output = self.torchvision_transform(torch.as_tensor(array))
        except TypeError:
            output = self.torchvision_transform(array)
        if isinstance(output, torch.Tensor):
            output = output.detach().cpu().numpy()
        if not isinstance(output, np.ndarray):
            raise ValueError("TorchVisionPreprocessor: the transform must return a torch.Tensor or np.ndarray, "
                             f"got {type(output).__name__}")
        return output

    def _transform_numpy(self, batch):
        for col, out in zip(self.columns, self.output_columns):
            if col not in batch:
                raise KeyError(f"TorchVisionPreprocessor: no column {col!r} (columns: {list(batch)})")
            values = batch[col]
            batch[out] = self._apply(values) if self.batched else _stack([self._apply(np.asarray(v)) for v in values])
        return batch

    def __repr__(self) -> str:
        return (f"TorchVisionPreprocessor(columns={self.columns!r}, output_columns={self.output_columns!r}, "
                f"transform={self.torchvision_transform!r})")
