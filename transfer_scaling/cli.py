"""`transfer-scaling SUBCOMMAND ...`: a thin dispatcher.

Each subcommand lives in its own module with `main(argv) -> int`; modules are
imported lazily so that `transfer-scaling fit` does not pay for Flax and TFDS.
"""
import importlib
import os
import sys

from transfer_scaling import interrupt
from transfer_scaling.errors import UsageError

COMMANDS = {
    "train": ("transfer_scaling.commands.train", "train one model or a vmapped ensemble from a config"),
    "bench": ("transfer_scaling.commands.bench", "measure training speed (tokens/s, step time, MFU)"),
    "corpora": ("transfer_scaling.commands.corpora", "list, prepare and add text corpora"),
    "fit": ("transfer_scaling.commands.fit", "fit a scaling law to a CSV of measurements"),
    "allocate": ("transfer_scaling.commands.allocate", "compute-optimal and pre-train/fine-tune budget allocation"),
    "sweep": ("transfer_scaling.commands.sweep", "run (or resume) a transfer study's training runs"),
    "results": ("transfer_scaling.commands.results", "one row per run of a study workdir"),
    "analyze": ("transfer_scaling.commands.analyze", "fit the laws to a study and write report.md with figures"),
    "advise": ("transfer_scaling.commands.advise",
               "pre-train more or collect more fine-tuning data? from a study's fits"),
    "quickstart": ("transfer_scaling.commands.quickstart", "the main job: a small English-to-Python study end to end"),
}


def _usage() -> str:
  width = max(map(len, COMMANDS))
  rows = "\n".join(f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items())
  return (f"usage: transfer-scaling COMMAND [ARGS...]\n\ncommands:\n{rows}\n\n"
          "`transfer-scaling COMMAND --help` for a command's options.")


def main(argv=None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  if not argv or argv[0] in ("-h", "--help", "help"):
    print(_usage())
    return 0
  name, rest = argv[0], argv[1:]
  if name not in COMMANDS:
    print(f"error: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
    return 2
  try:
    with interrupt.handled():
      module = importlib.import_module(COMMANDS[name][0])
      code = int(module.main(rest) or 0)
      interrupt.check()  # a request that was lost (say, in a garbage-collection callback) still stops
      return code
  except UsageError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except OSError as e:  # a full disk, a read-only or missing path: one line, not a traceback
    from transfer_scaling import fileio
    print(f"error: {fileio.describe_os_error(e)}", file=sys.stderr)
    return 1
  except interrupt.Terminated:
    print("terminated (SIGTERM); finished work is saved and a rerun resumes", file=sys.stderr)
    return 143
  except KeyboardInterrupt:
    print("interrupted; finished work is saved and a rerun resumes", file=sys.stderr)
    return 130


def run() -> None:
  """The console entry point: main(), then exit with its code.

  After an I/O error (a full disk) orbax's background writes may still hold coroutines that
  would print tracebacks while the interpreter shuts down; the error line is already out and
  every file was written atomically, so the process leaves without that teardown.
  """
  code = main()
  if code == 1:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
  sys.exit(code)


if __name__ == "__main__":
  run()
