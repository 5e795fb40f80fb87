"""An installed package (not this checkout) still finds the configs by name."""
import os
import shutil
import subprocess
import sys
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_wheel_ships_the_configs_and_finds_them_by_name(tmp_path):
  src = tmp_path / "src"
  src.mkdir()
  shutil.copy(os.path.join(REPO, "setup.py"), src)
  for name in ("transfer_scaling", "configs"):
    shutil.copytree(os.path.join(REPO, name), src / name, ignore=shutil.ignore_patterns("__pycache__"))
  subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src),
                  "-w", str(tmp_path / "dist")], check=True, capture_output=True)
  (wheel,) = (tmp_path / "dist").glob("*.whl")
  site = tmp_path / "site"
  zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs by unpacking
  code = ("from transfer_scaling import config; import sys; "
          "c = config.load_config('quickstart'); print(config.resolve_config_path('train')); print(c.study)")
  out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(site)})
  assert out.returncode == 0, out.stderr[-2000:]
  path, study = out.stdout.split()
  assert path.startswith(str(site)) and path.endswith(os.path.join("transfer_scaling", "configs", "train.py"))
  assert study == "quickstart"
