"""binder/ is complete: a fresh virtual environment built from binder/requirements.txt and
binder/postBuild alone (no system site-packages, nothing from the development environment) runs
every notebook with no error output and no leaked /dev/shm directory. apt.txt must name graphviz."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDER = os.path.join(ROOT, "binder")
HERE = os.path.dirname(os.path.abspath(__file__))


def test_apt_txt_names_graphviz():
    with open(os.path.join(BINDER, "apt.txt")) as f:
        assert "graphviz" in f.read().split()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_notebooks_run_in_an_environment_built_from_binder(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = dict(os.environ, PATH=str(venv / "bin") + os.pathsep + os.environ.get("PATH", ""),
               VIRTUAL_ENV=str(venv), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    # --no-compile: byte-compiling every installed module (torch, ray, jupyterlab) takes a minute
    # of the test and changes nothing it checks; modules compile when the notebooks import them
    pip = [py, "-m", "pip", "install", "-q", "--no-compile"]
    subprocess.run(pip + ["-r", os.path.join(BINDER, "requirements.txt")], check=True, env=env, cwd=ROOT)
    post_build = os.path.join(BINDER, "postBuild")
    if os.path.exists(post_build):  # Binder runs it from the repository root
        subprocess.run(["bash", post_build], check=True, env=env, cwd=ROOT)
    else:
        subprocess.run(pip + ["--no-deps", "-e", ROOT], check=True, env=env, cwd=ROOT)
    # the test's own runner, not a notebook dependency: nbclient comes with jupyterlab's nbconvert
    probe = subprocess.run([py, "-c", "import streamscope, nbclient, jupyter_bokeh; print(streamscope.__file__)"],
                           env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().startswith(ROOT)
    runner = tmp_path / "nbrun.py"
    shutil.copy(os.path.join(HERE, "nbrun.py"), runner)
    notebooks = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    work = tmp_path / "notebooks"
    work.mkdir()
    copies = [shutil.copy(nb, work / os.path.basename(nb)) for nb in notebooks]
    # two runners side by side, each running every other notebook: the notebooks spend much of
    # their time starting kernels and workers, so two at once take far less than one after another
    runners = [subprocess.Popen([py, str(runner), *map(str, copies[k::2])], env=env, cwd=str(tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (0, 1)]
    try:
        outputs = [r.communicate(timeout=900) for r in runners]
    finally:
        for r in runners:
            if r.poll() is None:
                r.kill()
                r.wait()
    for r, (out, err) in zip(runners, outputs):
        assert r.returncode == 0, out + err[-3000:]
