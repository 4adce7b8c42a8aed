"""A job for test_checkpoint_resume.py, run as its own process so the test can SIGKILL it:
read Parquet -> map -> write Parquet under a CheckpointConfig.

usage: python checkpoint_driver.py INPUT_DIR OUTPUT_DIR CHECKPOINT_DIR
"""

import sys
import time

import streamscope as ss
from streamscope.checkpoint import CheckpointConfig


def squared(batch):
    time.sleep(0.05)  # long enough that kills land mid-run, at every stage of it
    return {"id": batch["id"], "squared": batch["id"] * batch["id"]}


def main(input_dir: str, output_dir: str, checkpoint_dir: str) -> None:
    ctx = ss.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.checkpoint_config = CheckpointConfig(id_column="id", checkpoint_path=checkpoint_dir)
    ss.read_parquet(input_dir).map_batches(squared, batch_size=100).write_parquet(output_dir)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
