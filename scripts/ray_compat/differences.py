"""Documented differences from Ray Data 2.60 that a probe cannot see: the argument is accepted and
works, but not exactly as on Ray Data. Each note says what differs and what to do about it.
Keys are ``(name, argument)``; :data:`NAME_NOTES` holds notes on whole names.
"""

from __future__ import annotations

NOTES: dict[tuple[str, str], str] = {
    ("streaming_train_test_split", "seed"): ("the random draw of a row derives from its values and the seed "
                                             "(Ray seeds per task): each row is on one side in every run, and "
                                             "identical rows are on the same side"),
    ("from_huggingface", "concurrency"): ("caps the read tasks of an IterableDataset; a datasets.Dataset is "
                                          "already in memory and becomes blocks without tasks, so it has no "
                                          "effect there (as in Ray Data)"),
    ("read_sql", "parallelism"): ("without shard_keys a value above 1 is refused (Ray Data reads in one "
                                  "task anyway); give shard_keys= to read in parallel"),
    ("split", "locality_hints"): ("accepted: on one machine every split is local; on the Ray runtime the hints "
                                  "are not passed to Ray's scheduler"),
    ("streaming_split", "locality_hints"): ("accepted: on one machine every split is local; on the Ray runtime "
                                            "the hints are not passed to Ray's scheduler"),
    ("summary", "override_dtype_agg_mapping"): ("keys are streamscope.datatype.DataType objects and TypeCategory "
                                                "values as in Ray, and pyarrow types too; a string that is no "
                                                "TypeCategory value is refused (Ray matches nothing with it)"),
}
"""``(name, argument) -> what differs``."""

_LOCAL_REFS = ("local runtime: streamscope.ObjectRef handles held in driver memory (resolve with streamscope.get, "
               "which takes ray.ObjectRefs too); Ray runtime: ray.ObjectRefs")
_IN_DRIVER = "; on Ray each block is converted in the driver and put, not converted in a task"

_NO_MODIN = ("Modin 0.37.1, the newest release, requires pandas<2.4 and does not import with pandas 3, which "
             "streamscope is developed and tested on; convert through pandas (to_pandas / from_pandas) meanwhile")

_TF = ("not probed here: TensorFlow and the tfrecord package (which the read_tfrecords probe uses) register the "
       "same protobuf names and cannot be imported into one process; tests/engine/test_tensorflow_api.py tests it "
       "against tensorflow-cpu 2.21 in an interpreter of its own")

NAME_NOTES: dict[str, str] = {
    "iter_tf_batches": _TF,
    "to_tf": _TF,
    "to_arrow_refs": _LOCAL_REFS,
    "to_pandas_refs": _LOCAL_REFS + _IN_DRIVER,
    "to_numpy_refs": _LOCAL_REFS + _IN_DRIVER,
    "get_internal_block_refs": _LOCAL_REFS,
    "to_dask": ("the process's Dask scheduler is left as configured (Ray Data sets Dask-on-Ray for the whole "
                "process; any scheduler computes the partitions); object (tensor) columns are not converted to "
                "Arrow strings; an empty dataset is one empty partition"),
    "from_dask": ("the partitions are computed in one dask.compute on the process's Dask scheduler (Ray Data "
                  "persists them with Dask-on-Ray); a Dask Series is refused before anything is computed"),
    "to_daft": ("any Daft runner takes the frame (Ray Data calls daft.from_ray_dataset, which needs Daft's Ray "
                "runner); on the Ray runtime the blocks pass through the driver"),
    "from_daft": ("the query runs on Daft's configured runner (Ray Data's df.to_ray_dataset() needs the Ray "
                  "runner) and returns a MaterializedDataset; columns of Daft's Python and Tensor types become "
                  "Python-object and tensor columns"),
    "to_modin": _NO_MODIN,
    "from_modin": _NO_MODIN,
    "mix": ("under STOP_ON_SHORTEST the mix stops at the earliest block Ray Data can (Ray may emit a few more "
            "blocks, depending on when it learns that an input finished); a stopping_condition that is no "
            "MixStoppingCondition and NaN or infinite weights are refused when mix is called (Ray fails only "
            "when the mix runs, and lets NaN through)"),
    "to_random_access_dataset": ("the sorted blocks are copied into driver memory and lookups run in the driver "
                                 "(Ray serves them from num_workers actors): num_workers (default 4) only divides "
                                 "the blocks into shares that stats() reports; get_async returns a "
                                 "streamscope.ObjectRef, resolved with streamscope.get; null keys are refused"),
    "iter_internal_ref_bundles": (_LOCAL_REFS + "; a RefBundle holds one block and has blocks, block_refs, "
                                  "metadata, schema, num_rows() and size_bytes() only"),
}
"""``name -> what differs`` for a whole name (or why it is not implemented)."""
