"""kill -9 soak: a toy sweep killed at random moments, resumed each time, against one uninterrupted sweep.

  python -m experiments.soak --kills 10 --seed 0 [--signal TERM] [--cpu-devices 1]

With --signal TERM or INT the sweep is asked to stop (a scheduler's preemption, Ctrl-C) and must
exit 143 or 130 having saved. Both sweeps use the default device layout unless --cpu-devices is given.

Prints the number of kills that landed, records, duplicates (a run id written twice), and
whether every record's results equal the uninterrupted sweep's bit for bit. Runs on the two
generated toy corpora in a temporary folder; a few minutes on 2 CPU cores.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

COMPARE = ("valid_loss", "test_loss", "best_step", "steps", "budget", "tokens", "status")
CONFIG = "from transfer_scaling.study import toy\n\ndef get_config():\n  return toy.config()\n"


def _sweep(cfg, workdir, cpu_devices=0):
  return [sys.executable, "-m", "transfer_scaling.cli", "sweep", "--config", cfg, "--workdir", workdir,
          *(["--cpu-devices", str(cpu_devices)] if cpu_devices else [])]


def _records(workdir):
  out, names = {}, []
  d = os.path.join(workdir, "runs")
  for f in sorted(os.listdir(d)):
    if f.endswith(".json") and not f.startswith("."):  # a dot-file is an unfinished write, which no reader takes
      r = json.load(open(os.path.join(d, f)))
      names.append(r["id"])
      out[r["id"]] = tuple(r.get(k) for k in COMPARE)
  return out, len(names) - len(set(names))


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--kills", type=int, default=10)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--max-wait", type=float, default=20.0, help="a kill lands within this many seconds of a start")
  p.add_argument("--signal", default="KILL", choices=("KILL", "TERM", "INT"))
  p.add_argument("--cpu-devices", type=int, default=0, help="0: the default layout (one device per core)")
  args = p.parse_args(argv)
  sig = getattr(signal, f"SIG{args.signal}")
  expected = {"KILL": -signal.SIGKILL, "TERM": 143, "INT": 130}[args.signal]
  rng = random.Random(args.seed)
  root = tempfile.mkdtemp(prefix="soak-")
  env = dict(os.environ, TRANSFER_SCALING_DATA=os.path.join(root, "data"),
             JAX_COMPILATION_CACHE_DIR=os.path.join(root, "jax_cache"))
  from transfer_scaling.study import toy
  os.environ.update(TRANSFER_SCALING_DATA=env["TRANSFER_SCALING_DATA"])
  toy.write_corpora(os.path.join(root, "files"))
  cfg = os.path.join(root, "toy_config.py")
  open(cfg, "w").write(CONFIG)
  ref, soaked = os.path.join(root, "reference"), os.path.join(root, "soaked")
  t0 = time.time()
  subprocess.run(_sweep(cfg, ref, args.cpu_devices), env=env, check=True, capture_output=True)
  print(f"reference sweep: {time.time() - t0:.0f} s", file=sys.stderr)
  landed = bad_exits = 0
  for i in range(args.kills):
    proc = subprocess.Popen(_sweep(cfg, soaked, args.cpu_devices), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(1.0, args.max_wait))
    if proc.poll() is None:
      proc.send_signal(sig)
      landed += 1
    proc.wait()
    if proc.returncode not in (0, expected, -sig):  # -sig: it landed before the handlers were installed
      print(f"kill {i + 1}: the sweep exited {proc.returncode}, not {expected}", file=sys.stderr)
      bad_exits += 1
    print(f"kill {i + 1}/{args.kills}: {'landed' if proc.returncode == expected else 'sweep had finished'}",
          file=sys.stderr)
  subprocess.run(_sweep(cfg, soaked, args.cpu_devices), env=env, check=True, capture_output=True)
  a, dup_a = _records(ref)
  b, dup_b = _records(soaked)
  same = a == b
  leftovers = [os.path.join(d, f) for d, dirs, files in os.walk(soaked) for f in dirs + files
               if "orbax-checkpoint-tmp" in f or f == "claim.json"]
  # A kill during a file's write leaves its temporary file; a later sweep removes it once it is stale.
  orphans = [os.path.join(d, f) for d, _, files in os.walk(soaked) for f in files if f.startswith(".tmp-")]
  print(json.dumps({"signal": args.signal, "kills": args.kills, "landed": landed, "bad_exits": bad_exits,
                    "leftovers": leftovers, "unfinished_writes": len(orphans), "records": len(b),
                    "reference_records": len(a),
                    "duplicates": dup_b, "bit_identical": same,
                    "differing": sorted(k for k in a if a[k] != b.get(k))}, indent=1))
  return 0 if same and not dup_b and len(a) == len(b) and not bad_exits and not leftovers else 1


if __name__ == "__main__":
  sys.exit(main())
