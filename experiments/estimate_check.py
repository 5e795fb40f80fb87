r"""How well do a study's planned runs predict its sweep time? A backtest over finished studies.

  python -m experiments.estimate_check --workdir results/decision_python --workdir results/english_to_german_decision

For each finished study workdir: the first round's estimate at the runs' first step budgets (what sweeps said
before history scaling), and the expected time (study/estimate.py: Estimate.expected) from factors that leave
the study out (medians of the other studies' overrun and rounds), against the ensembles' measured wall time.
Every workdir's own throughput is used for the rates, so the check is of the scaling, not of the machine.
Prints the tables of docs/benchmarks.md ("Time estimates").
"""
import argparse
import statistics

from transfer_scaling.study import estimate, extend, plan


def measure(workdir) -> dict:
  st = extend.Study.read(workdir)
  first = plan.make_plan(st.cfg, st.hashes, st.train, {}).runs
  walls = {}
  for r in st.runs:
    rec = st.records.get(r.id)
    if rec and rec.get("group"):
      walls[rec["group"]] = rec.get("wall_s") or 0.0
  return {"name": str(workdir).rstrip("/").split("/")[-1], "first": estimate.estimate(first, st.rates),
          # the study's own factors alone (no prior): what the stored table is the median of
          "history": estimate.history(st.runs, st.records, st.rates, first, estimate.default(st.cfg), prior_s=0),
          "wall": sum(walls.values())}


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--workdir", action="append", required=True, help="a finished study (repeat, 3 or more)")
  args = p.parse_args(argv)
  rows = [measure(w) for w in args.workdir]
  median = lambda key, k, name: statistics.median(getattr(r["history"], key)[k] for r in rows if r["name"] != name)
  print("| study | ensembles' wall (min) | first budgets (min) | wall / it | expected, study left out (min) "
        "| wall / it |")
  print("|---|---|---|---|---|---|")
  for r in rows:
    h = estimate.History({k: median("overrun", k, r["name"]) for k in r["history"].overrun},
                         {k: median("rounds", k, r["name"]) for k in r["history"].rounds}, "the other studies")
    old, new = r["first"].seconds, r["first"].expected(h)
    print(f"| {r['name']} | {r['wall'] / 60:.1f} | {old / 60:.1f} | {r['wall'] / old:.2f} | {new / 60:.1f} "
          f"| {r['wall'] / new:.2f} |")
  for key in ("overrun", "rounds"):
    stages = getattr(rows[0]["history"], key)
    meds = {k: round(statistics.median(getattr(r["history"], key)[k] for r in rows), 2) for k in stages}
    print(f"median {key} over the {len(rows)} studies: {meds}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
