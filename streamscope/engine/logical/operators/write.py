"""Write: sends every block to a Datasink (``Datasink.write`` in each task; the driver commits).

``concurrency`` caps the write tasks running at once, ``num_cpus``/``num_gpus``/``memory`` are
what each asks for (as a map's; one CPU by default), and
``min_rows_per_bundle`` (the datasink's ``min_rows_per_file``) makes each write task receive at
least that many rows (all that is left, at the end), waiting for upstream as long as it takes.
"""

from __future__ import annotations

import uuid
from typing import Any, Optional

from streamscope.engine.io.datasink import write_operator_name
from streamscope.engine.logical.operators.base import LogicalOperator


class Write(LogicalOperator):
    kind = "Write"

    def __init__(self, input_op: LogicalOperator, datasink: Any, concurrency: Optional[int] = None,
                 num_cpus: Optional[float] = None, num_gpus: Optional[float] = None, memory: Optional[float] = None,
                 min_rows_per_bundle: Optional[int] = None, write_uuid: Optional[str] = None,
                 ray_remote_args: Optional[dict] = None):
        super().__init__(write_operator_name(datasink), [input_op])
        self.write_uuid = write_uuid or uuid.uuid4().hex  # ctx.kwargs["write_uuid"] in every task
        self.ray_remote_args = dict(ray_remote_args or {})
        """The write tasks' other ``ray.remote`` options (see :mod:`streamscope.engine.remote_args`)."""
        self.datasink = datasink
        self.concurrency = concurrency
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.memory = memory
        self.min_rows_per_bundle = min_rows_per_bundle
