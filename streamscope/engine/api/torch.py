"""PyTorch integration: ``iter_torch_batches`` and ``to_torch`` (Dataset methods), the collate
step of ``DataIterator.iter_torch_batches``, and the rows ``from_torch`` makes, as in Ray Data.

A leaf of the API: it imports no other API module (``data_iterator.py`` and ``from_memory.py``
import it), and torch is optional: it is imported inside the functions that need it, with an
error that says what to install.

Batches are converted to tensors in the prefetch thread (``torch_collate`` runs as the batch
iterator's collate step), so conversion, pinning and the host-to-device copy overlap with the
training step; on a GPU, tensors are pinned and copied with ``non_blocking=True``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError("this needs PyTorch: pip install 'streamscope[torch]'") from exc
    return torch


def _device(torch: Any, device: Any) -> Any:
    if device is None or device == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    return torch.device(device) if not isinstance(device, torch.device) else device


def _to_tensor(torch: Any, value: Any, dtype: Any, device: Any, pin: bool) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = np.stack(list(value))
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        value = value.copy()  # torch warns on read-only (zero-copy Arrow) buffers
    tensor = torch.as_tensor(value, dtype=dtype)
    if device.type != "cpu":
        if pin:
            tensor = tensor.pin_memory()
        tensor = tensor.to(device, non_blocking=pin)
    return tensor


def torch_collate(dtypes: Any, device: Any, collate_fn: Optional[Callable], pin_memory: bool) -> Callable:
    """The collate step for ``iter_torch_batches``: a user ``collate_fn`` gets the numpy batch and
    its result is returned as is (as in Ray Data); otherwise each column becomes a tensor with
    its dtype from ``dtypes`` (one dtype, or a dict by column) on ``device``."""
    torch = import_torch()
    if collate_fn is not None:
        return collate_fn
    dev = _device(torch, device)
    pin = bool(pin_memory) or (dev.type == "cuda")

    def collate(batch: dict) -> dict:
        out = {}
        for name, value in batch.items():
            dtype = dtypes.get(name) if isinstance(dtypes, dict) else dtypes
            out[name] = _to_tensor(torch, value, dtype, dev, pin)
        return out

    return collate


class TorchMixin:
    """Dataset methods that feed PyTorch training loops."""

    def iter_torch_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256, dtypes: Any = None,
                           device: Any = "auto", collate_fn: Optional[Callable] = None, drop_last: bool = False,
                           local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                           pin_memory: bool = False):
        """Iterate over batches as dicts of torch tensors (or whatever ``collate_fn`` returns), with
        ``dtypes`` per column and on ``device`` (``"auto"``: the GPU when there is one). Conversion,
        pinning and the host-to-device copy run in the prefetch thread, overlapping the training
        step.

        Examples:
            >>> import torch
            >>> batch = next(iter(streamscope.range(8).iter_torch_batches(batch_size=4, device="cpu")))
            >>> batch["id"].dtype, batch["id"].shape
            (torch.int64, torch.Size([4]))
        """
        return self.iterator().iter_torch_batches(
            prefetch_batches=prefetch_batches, batch_size=batch_size, dtypes=dtypes, device=device,
            collate_fn=collate_fn, drop_last=drop_last, local_shuffle_buffer_size=local_shuffle_buffer_size,
            local_shuffle_seed=local_shuffle_seed, pin_memory=pin_memory,
        )

    def to_torch(self, *, label_column: Optional[str] = None, feature_columns: Any = None,
                 label_column_dtype: Any = None, feature_column_dtypes: Any = None, batch_size: int = 1,
                 prefetch_batches: int = 1, drop_last: bool = False, local_shuffle_buffer_size: Optional[int] = None,
                 local_shuffle_seed: Optional[int] = None, unsqueeze_label_tensor: bool = True,
                 unsqueeze_feature_tensors: bool = True):
        """A ``torch.utils.data.IterableDataset`` of ``(features, label)`` batches (Ray Data's legacy
        API): features are one tensor stacked from ``feature_columns`` (a list), or a list/dict of
        tensors when ``feature_columns`` is a list of lists or a dict.

        Examples:
            >>> import torch
            >>> ds = streamscope.from_items([{"x": 1.0, "y": 0}, {"x": 2.0, "y": 1}])
            >>> features, label = next(iter(ds.to_torch(label_column="y", batch_size=2)))
            >>> features.shape, label.shape
            (torch.Size([2, 1]), torch.Size([2, 1]))
        """
        torch = import_torch()
        dataset = self

        def column_tensor(batch: dict, name: str, dtype: Any, unsqueeze: bool) -> Any:
            t = _to_tensor(torch, batch[name], dtype, torch.device("cpu"), False)
            return t.unsqueeze(1) if unsqueeze and t.dim() == 1 else t

        def features_of(batch: dict, cols: Any, dtypes: Any) -> Any:
            if isinstance(cols, dict):
                return {k: features_of(batch, v, dtypes.get(k) if isinstance(dtypes, dict) else dtypes) for k, v in cols.items()}
            if cols and isinstance(cols[0], (list, tuple)):
                return [features_of(batch, c, d) for c, d in zip(cols, dtypes if isinstance(dtypes, list) else [dtypes] * len(cols))]
            parts = [column_tensor(batch, c, dtypes, unsqueeze_feature_tensors) for c in cols]
            return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

        class _Iterable(torch.utils.data.IterableDataset):
            def __iter__(self):
                for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy", drop_last=drop_last,
                                                  prefetch_batches=prefetch_batches,
                                                  local_shuffle_buffer_size=local_shuffle_buffer_size,
                                                  local_shuffle_seed=local_shuffle_seed):
                    cols = feature_columns or [c for c in batch if c != label_column]
                    label = column_tensor(batch, label_column, label_column_dtype, unsqueeze_label_tensor) if label_column else None
                    yield features_of(batch, cols, feature_column_dtypes), label

        return _Iterable()


def _to_python(value: Any) -> Any:
    """A torch sample as Arrow-friendly values: tensors -> numpy, tuples -> lists."""
    torch = import_torch()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: _to_python(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_to_python(v) for v in value]
    if hasattr(value, "__array__") and not np.isscalar(value):
        return np.asarray(value)
    return value


def rows_from_torch(dataset: Any) -> list[dict]:
    """The rows ``from_torch`` makes of a torch map-style or iterable dataset: ``{"item": sample}``
    (tuple samples as ``item_0``, ``item_1``...), tensors as numpy arrays; read in the driver."""
    torch = import_torch()
    if isinstance(dataset, torch.utils.data.IterableDataset) or not hasattr(dataset, "__len__"):
        samples = iter(dataset)
    else:
        samples = (dataset[i] for i in range(len(dataset)))
    return [_row(_to_python(s)) for s in samples]


def _row(sample: Any) -> dict:
    """``{"item": sample}``; a tuple sample (``(image, label)``) becomes ``item_0``, ``item_1``...
    because Arrow has no column type for a tuple of differently shaped values."""
    if isinstance(sample, list) and sample and any(isinstance(v, np.ndarray) for v in sample):
        return {f"item_{i}": v for i, v in enumerate(sample)}
    return {"item": sample}
