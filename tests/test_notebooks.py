"""The notebooks in colab/ run top to bottom (small settings: TS_NOTEBOOK_SMOKE=1) and are stored without outputs."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "colab", "*.ipynb")))


def _read(path):
  return nbformat.read(path, as_version=4)


def test_all_three_notebooks_are_there():
  assert [os.path.basename(p) for p in NOTEBOOKS] == ["budget_allocation.ipynb", "fit_your_runs.ipynb",
                                                      "quickstart.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_outputs_are_stripped(path):
  nb = _read(path)
  nbformat.validate(nb)
  for i, cell in enumerate(nb.cells):
    if cell.cell_type == "code":
      assert cell.outputs == [], f"{os.path.basename(path)} cell {i} has outputs: clear them before committing"
      assert cell.execution_count is None, f"{os.path.basename(path)} cell {i} has an execution count"
  assert "widgets" not in nb.metadata, f"{os.path.basename(path)} stores widget state: clear it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_first_cell_installs_the_project_only_when_missing(path):
  first = next(c for c in _read(path).cells if c.cell_type == "code").source
  assert "REPO_URL = " in first and 'find_spec("transfer_scaling") is None' in first and "pip" in first


def test_budget_plots_draw_any_gap_law(second_gap_law):
  # The notebooks' budget figures read the law through the registry: its title, its gap (Param.zero), its loss.
  import matplotlib
  matplotlib.use("Agg")
  from transfer_scaling.report import notebook_plots
  q = dict(A=20.0, C=0.3, E=1.5, a=0.4, b=0.15)
  fig, best = notebook_plots.isoloss(q, 1e5, 1.0, 0.01, law="test_gap_form", n=20)
  assert fig.axes[0].get_title() == "L = 1.5 + (20 p^-0.4 + 0.3) f^-0.15" and 0 < best.share_p < 1
  fig = notebook_plots.share_vs_gap(q, budgets=(1e3, 1e5), law="test_gap_form", gaps=[1e-3, 1.0])
  ax = fig.axes[0]
  assert ax.get_xlabel() == "transfer gap C"
  assert abs(ax.lines[1].get_ydata()[0] - 0.4 / 0.55) < 1e-8  # the optimum with no gap: a / (a + b)
  fig, _ = notebook_plots.isoloss(dict(A=20.0, G=0.3, E=1.5, alpha=0.4, beta=0.15), 1e5, 1.0, 0.01, n=20)
  assert fig.axes[0].get_title() == "L(p,f) = (20 p^-0.40 + 0.3) f^-0.15 + 1.5"


def _setup_url() -> str:
  import re
  return re.search(r'^URL = "(.*)"$', open(os.path.join(ROOT, "setup.py")).read(), re.M).group(1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_install_cell_and_readme_badge_name_the_project_url(path):
  # In Colab the first cell must work as it stands: the URL is the one setup.py states, not a placeholder.
  url = _setup_url()
  assert url.startswith("https://github.com/") and "OWNER" not in url
  first = next(c for c in _read(path).cells if c.cell_type == "code").source
  assert f'REPO_URL = "{url}"' in first, f"{os.path.basename(path)}: set REPO_URL to setup.py's URL {url}"
  badge = url.replace("https://github.com/", "https://colab.research.google.com/github/") + \
      "/blob/main/colab/" + os.path.basename(path)
  assert f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({badge})" in \
      open(os.path.join(ROOT, "README.md")).read()


def test_install_cell_installs_a_wheel_beside_the_notebook(tmp_path):
  # Outside a checkout and with no copy installed, the first cell pip-installs the wheel it finds.
  src = tmp_path / "src"
  src.mkdir()
  shutil.copy(os.path.join(ROOT, "setup.py"), src)
  for name in ("transfer_scaling", "configs"):
    shutil.copytree(os.path.join(ROOT, name), src / name, ignore=shutil.ignore_patterns("__pycache__"))
  here = tmp_path / "here"
  subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src),
                  "-w", str(here)], check=True, capture_output=True)
  first = next(c for c in _read(NOTEBOOKS[0]).cells if c.cell_type == "code").source
  site = tmp_path / "site"
  site.mkdir()
  # Hide this checkout and any editable install of it, so the cell has to install; pip installs into
  # `site` without dependencies (they are this interpreter's) and without an index.
  code = ("import sys; sys.meta_path = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '')]\n"
          + first + "\nprint(transfer_scaling.__file__)")
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  env.update(PYTHONPATH=str(site), PIP_TARGET=str(site), PIP_NO_DEPS="1", PIP_NO_INDEX="1")
  out = subprocess.run([sys.executable, "-c", code], cwd=here, capture_output=True, text=True, env=env)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.strip().startswith(str(site))


def _execute(name: str, tmp_path):
  """Runs colab/<name> in a fresh python3 kernel of this interpreter, in tmp_path; returns the executed notebook."""
  from jupyter_client.manager import KernelManager
  from nbclient import NotebookClient
  nb = _read(os.path.join(ROOT, "colab", name))
  env = dict(os.environ, TS_NOTEBOOK_SMOKE="1", MPLBACKEND="module://matplotlib_inline.backend_inline",
             TRANSFER_SCALING_DATA=str(tmp_path / "data"),
             PYTHONPATH=os.pathsep.join([ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
  # Compiled fits and training steps are reused across runs of the suite, as the sweep does for studies.
  env.setdefault("JAX_COMPILATION_CACHE_DIR",
                 os.path.join(os.path.expanduser("~"), ".cache", "transfer_scaling", "jax"))
  km = KernelManager(kernel_name="python3")
  km.kernel_spec.argv[0] = sys.executable  # this interpreter, whatever the installed spec says
  client = NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(tmp_path)}})
  client.execute(env=env)
  return nb


def _cells(nb) -> list:
  return [c for c in nb.cells if c.cell_type == "code"]


def _images(cells) -> int:
  return sum("image/png" in o.get("data", {}) for c in cells for o in c.outputs)


def _text(cells) -> str:
  return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for c in cells for o in c.outputs)


@pytest.mark.slow
def test_fit_your_runs(tmp_path):
  cells = _cells(_execute("fit_your_runs.ipynb", tmp_path))
  text = _text(cells)
  assert "240 runs" in text and "law chinchilla" in text and "law kaplan" in text and "law hernandez" in text
  assert "bootstrap (20/20 refits converged)" in text
  assert _images(cells) >= 5


@pytest.mark.slow
def test_budget_allocation(tmp_path):
  nb = _execute("budget_allocation.ipynb", tmp_path)
  text = _text(_cells(nb))
  assert "optimal share at G = 0: 0.7273" in text  # alpha / (alpha + beta) = 0.4 / 0.55
  assert _images(_cells(nb)) >= 1
  # Headless, the sliders' callback still runs once with the defaults: its figure and printed optimum
  # land in the interact widget's output, which nbclient keeps in the widget state.
  widgets = json.dumps(nb.metadata.get("widgets", {}))
  assert "image/png" in widgets and "on pre-training" in widgets


@pytest.mark.slow
def test_quickstart(tmp_path):
  cells = _cells(_execute("quickstart.ipynb", tmp_path))
  assert "D_T = k D_F^alpha N^beta" in _text(cells) or "no joint fit" in _text(cells)
  assert _images(cells) >= 3
