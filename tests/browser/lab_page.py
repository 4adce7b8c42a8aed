"""What the browser tests read from a JupyterLab page: the open notebook's kernel state and the
error outputs in its model (not its DOM, so a collapsed or scrolled-away output still counts), and
a way to run every cell and wait until the kernel is idle with every code cell executed."""

from __future__ import annotations

import os

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-breakpad",
    "--disable-crash-reporter", "--no-first-run", "--disable-component-update", "--disable-sync",
]

# The notebook panel and its model come from the app the lab server exposes to the page.
JS_PANEL = "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; return w && w.content && w.content.model ? true : false; }"
JS_RUN_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = Array.from(panel.content.model.cells);
  const code = cells.filter(c => c.type === 'code');
  const failed = code.filter(c => Array.from({length: c.outputs.length}, (_, k) => c.outputs.get(k).type)
                                     .includes('error')).length;
  return {status: kernel ? kernel.status : 'none',
          done: code.filter(c => c.executionCount !== null).length, total: code.length, failed};
}"""
JS_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const out = [];
  Array.from(panel.content.model.cells).forEach((c, i) => {
    if (c.type !== 'code') return;
    for (let k = 0; k < c.outputs.length; k++) {
      const o = c.outputs.get(k).toJSON();
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      const text = o.output_type === 'stream' ? [].concat(o.text || []).join('') : '';
      if (o.name === 'stderr' && text.includes('Traceback')) out.push(`cell ${i}: traceback on stderr`);
    }
  });
  return out;
}"""
# On a timeout: the kernel's state, the first code cell without an execution count (the one running, or the next to run: its source) and the text of
# the last outputs of the cell before it, so a hang or a slow cell names itself.
JS_WHERE_IT_STANDS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = Array.from(panel.content.model.cells);
  const index = cells.findIndex(c => c.type === 'code' && c.executionCount === null);
  const text = c => !c ? '' : Array.from({length: c.outputs.length}, (_, k) => JSON.stringify(c.outputs.get(k).toJSON()))
                                   .join(' ').slice(-1500);
  const previous = cells.slice(0, index < 0 ? cells.length : index).filter(c => c.type === 'code').pop();
  return {kernel: kernel ? kernel.status : 'none', cell_running_or_next: index,
          its_source: index < 0 ? null : cells[index].sharedModel.getSource().slice(0, 300),
          outputs_before_it: text(previous)};
}"""
# ipywidgets' own words when a widget's model cannot be found or its view fails to render
JS_WIDGET_FAILURES = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
  .map(el => el.innerText)
  .filter(t => /Error displaying widget|Failed to load model class|model not found/.test(t))"""


def open_notebook(page, url: str) -> None:
    """Open a notebook and wait for its kernel to be idle."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(JS_PANEL, timeout=60_000)
    page.wait_for_function(f"() => ({JS_RUN_STATE})().status === 'idle'", timeout=60_000)


def run_all_cells(page, timeout_ms: int) -> None:
    """Run every cell and wait until the kernel is idle again with each code cell run, or with a
    cell showing an error: JupyterLab's run-all stops at a failing cell and leaves the cells after
    it unrun, so waiting for all of them would turn one error into a timeout that hides it. An
    error fails here, naming the cell and the exception."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # not awaited: the command's promise settles only when the run ends, and page.evaluate has no
    # timeout of its own, so awaiting it here would put the run outside ``timeout_ms``
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    try:
        page.wait_for_function(
            f"() => {{ const s = ({JS_RUN_STATE})(); return s.status === 'idle' && (s.done === s.total || s.failed > 0); }}",
            timeout=timeout_ms, polling=500)
    except PlaywrightTimeout:
        raise AssertionError(f"the notebook did not finish in {timeout_ms / 1000:.0f} s: "
                             f"{page.evaluate(JS_WHERE_IT_STANDS)}") from None
    errors = page.evaluate(JS_ERRORS)
    assert errors == [], f"cells failed in JupyterLab: {errors}"


def require_chromium() -> None:
    """Fail (never skip) where Debian's Chromium is missing, saying how to install it."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: scripts/check_system.sh test installs it (apt-get install chromium)")


def launch_chromium(pw, profile_dir, home, width: int = 1400, height: int = 1000):
    """Debian's headless Chromium with a fresh profile and HOME/XDG directories under ``home``,
    so it writes nothing into the real home and leaves no crash reporter behind."""
    home = str(home)
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_CACHE_HOME=os.path.join(home, ".cache"))
    return pw.chromium.launch_persistent_context(
        str(profile_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=env,
        viewport={"width": width, "height": height})
