"""The extension in a terminal IPython (InteractiveShell, no kernel): magics parse and print text,
config sets DataContext values, background handles and cancel work, unload removes everything."""

import time

import pytest

IPython = pytest.importorskip("IPython")
from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from streamscope.engine.execution.telemetry import hub  # noqa: E402
from streamscope.kernel_ext.magics import split_expression  # noqa: E402


@pytest.fixture
def shell(restore_context):
    restore_context.progress_mode = "off"
    restore_context.num_workers = 2
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "streamscope")
    ip.run_cell("import streamscope as ss, time\n"
                "def slow(b):\n    time.sleep(0.1)\n    return b\n"
                "ds = ss.range(1000, override_num_blocks=4).map_batches(slow)")
    yield ip
    ip.run_line_magic("unload_ext", "streamscope")


def test_split_expression_keeps_quotes_and_spaces():
    assert split_expression('ds.filter(expr="x > 3") --background --action count') == (
        'ds.filter(expr="x > 3")', ["--background", "--action", "count"])
    assert split_expression("--background ds") == ("ds", ["--background"])
    assert split_expression("ds --name my_run") == ("ds", ["--name", "my_run"])


def test_terminal_mode_keeps_progress_and_prints(shell, capsys):
    from streamscope.kernel_ext import current

    ext = current()
    assert ext is not None and not ext.in_kernel and not ext.widgets
    assert shell.find_line_magic("dataset") and shell.find_cell_magic("dataset")
    shell.run_line_magic("dataset", "explain ds")
    out = capsys.readouterr().out
    assert "Logical Plan" in out and "MapBatches(slow)" in out
    shell.run_line_magic("dataset", "stats ds")
    assert "has not been executed yet" in capsys.readouterr().out
    mat = shell.run_line_magic("dataset", "run ds")
    assert mat.count() == 1000
    shell.run_line_magic("dataset", "stats ds")
    assert "1000 rows out" in capsys.readouterr().out
    shell.run_line_magic("dataset", "dashboard")
    assert "needs a Jupyter kernel" in capsys.readouterr().out
    shell.run_line_magic("dataset", "")
    assert "%dataset explain EXPR" in capsys.readouterr().out


def test_config_sets_values_and_rejects_unknown(shell, capsys, restore_context):
    shell.run_line_magic("dataset", "config num_workers=3 execution_options.preserve_order=true "
                                    "object_store_capacity_bytes=64MiB")
    assert restore_context.num_workers == 3
    assert restore_context.execution_options.preserve_order is True
    assert restore_context.object_store_capacity_bytes == 64 << 20
    assert "num_workers = 3" in capsys.readouterr().out
    shell.run_line_magic("dataset", "config num_workers")
    assert "num_workers = 3" in capsys.readouterr().out
    with pytest.raises(UsageError, match="no field"):
        shell.run_line_magic("dataset", "config no_such_key=1")
    with pytest.raises(UsageError, match="expects"):
        shell.run_line_magic("dataset", "config execution_options.preserve_order=maybe")
    with pytest.raises(UsageError, match="unknown subcommand"):
        shell.run_line_magic("dataset", "frobnicate ds")
    with pytest.raises(UsageError, match="invalid choice"):
        shell.run_line_magic("dataset", "run ds --action explode")


def test_config_sets_the_downstream_capacity_ratio(shell, capsys, restore_context):
    assert restore_context.downstream_capacity_backpressure_ratio == 2.0  # Ray Data's default
    shell.run_line_magic("dataset", "config downstream_capacity_backpressure_ratio=3.5")
    assert restore_context.downstream_capacity_backpressure_ratio == 3.5
    assert "downstream_capacity_backpressure_ratio = 3.5" in capsys.readouterr().out
    shell.run_line_magic("dataset", "config downstream_capacity_backpressure_ratio=none")  # the policy off
    assert restore_context.downstream_capacity_backpressure_ratio is None
    with pytest.raises(UsageError, match="did you mean 'downstream_capacity_backpressure_ratio'"):
        shell.run_line_magic("dataset", "config downstream_capacity_backpressure_ration=2")


def test_background_run_and_cancel(shell, capsys):
    handle = shell.run_line_magic("dataset", "run ss.range(100_000, override_num_blocks=300).map_batches(slow) --background")
    assert handle.buffer is not None and not handle.done
    assert "running in the background" in capsys.readouterr().out
    time.sleep(0.5)
    t0 = time.monotonic()
    shell.run_line_magic("dataset", "cancel")
    assert "cancelled:" in capsys.readouterr().out
    assert handle.wait(1.0) and time.monotonic() - t0 < 1.0
    assert handle.state == "cancelled"
    shell.run_line_magic("dataset", "cancel")
    assert "no active runs" in capsys.readouterr().out
    counted = shell.run_line_magic("dataset", "run ds --background --action count")
    assert counted.result(30) == 1000


def test_cell_magic_runs_the_cell(shell):
    shell.run_cell("%%dataset --name cellrun\nn = ds.filter(lambda r: r['id'] % 2 == 0).count()")
    assert shell.user_ns["n"] == 500
    shell.run_cell("%%dataset --background\nm = ds.filter(lambda r: r['id'] < 10).count()")
    handle = shell.user_ns["_dataset_handle"]
    handle.result(30)
    assert shell.user_ns["m"] == 10


def test_unload_removes_magics_listener_and_events(restore_context):
    ip = InteractiveShell.instance()
    listeners = len(hub()._listeners)
    pre = len(ip.events.callbacks["pre_run_cell"])
    ip.run_line_magic("load_ext", "streamscope")
    ip.run_line_magic("load_ext", "streamscope")  # twice is a no-op
    assert len(hub()._listeners) == listeners + 1
    ip.run_line_magic("unload_ext", "streamscope")
    assert ip.find_line_magic("dataset") is None and ip.find_cell_magic("dataset") is None
    assert len(hub()._listeners) == listeners
    assert len(ip.events.callbacks["pre_run_cell"]) == pre
    from streamscope.kernel_ext import current

    assert current() is None


def test_report_magic_writes_a_standalone_file(shell, capsys, tmp_path):
    target = tmp_path / "run.html"
    shell.run_line_magic("dataset", f"report ds {target}")
    assert "has not been executed yet" in capsys.readouterr().out and not target.exists()
    shell.run_cell("ds.count()")
    capsys.readouterr()
    shell.run_line_magic("dataset", f"report ds.stats() {target}")
    assert f"report written to {target}" in capsys.readouterr().out
    page = target.read_text()
    assert "MapBatches(slow)" in page and "<script src=" not in page
    with pytest.raises(UsageError, match="name the dataset and the file"):
        shell.run_line_magic("dataset", "report ds")


def test_explain_rules_flag(shell, capsys):
    shell.run_line_magic("dataset", "explain ds.filter(expr='id > 3') --rules")
    out = capsys.readouterr().out
    assert "Optimizer rules" in out
    with pytest.raises(UsageError, match="the only option is --rules"):
        shell.run_line_magic("dataset", "explain ds --graphs")


def test_replay_magic_lists_the_runs_moments(shell, capsys):
    shell.run_line_magic("dataset", "replay ds")
    assert "has not been executed yet" in capsys.readouterr().out
    shell.run_cell("ds.count()")
    capsys.readouterr()
    shell.run_line_magic("dataset", "replay ds")
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("[")]
    assert lines[0].startswith("[0] t = ") and "succeeded · 100% · 1k rows" in lines[-1]
    with pytest.raises(UsageError, match="name the dataset"):
        shell.run_line_magic("dataset", "replay")
