"""`transfer-scaling fit LAW --csv FILE --json OUT`: fit a scaling law to measurements.

Columns: the law's covariates and target, as `law` below lists them for each law. With a `seed` column the
bootstrap resamples seeds, one draw for every design point (runs of one seed share their data, so their
deviations move together). Example (the Chinchilla replication; under a minute on 2 CPU cores):
  transfer-scaling fit chinchilla --csv chinchilla_svg_extracted.csv --drop-highest 5 --bootstrap 4000 --json fit.json
"""
import argparse
import sys

from transfer_scaling import fileio
from transfer_scaling.laws.measurements import drop_highest_rows, read_csv
from transfer_scaling.laws.fitting import fit
from transfer_scaling.laws.registry import get_law, law_names


def main(argv) -> int:
  ap = argparse.ArgumentParser(prog="transfer-scaling fit", description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("law", help="one of (with its columns): " + "; ".join(
      f"{name} ({','.join(get_law(name).columns)})" for name in law_names()))
  ap.add_argument("--csv", required=True, help="measurements, one row per run, a header line with the law's columns")
  ap.add_argument("--json", required=True, help="where to write the result")
  ap.add_argument("--drop-highest", type=int, default=0, help="drop the K rows with the highest target value first")
  ap.add_argument("--bootstrap", type=int, default=1000, help="resampled refits for standard errors (0: none)")
  ap.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
  ap.add_argument("--delta", type=float, default=1e-3, help="Huber delta on log target")
  ap.add_argument("--loo", action="store_true", help="also report the leave-one-out RMSE (n refits)")
  ap.add_argument("--max-iter", type=int, default=500, help="most damped Newton steps per start")
  args = ap.parse_args(argv)

  law = get_law(args.law)
  fileio.check_output_file(args.json, "--json")
  df = read_csv(args.csv)
  by_seed, drop = {}, args.drop_highest
  if "seed" in df:
    if drop:
      df, drop = drop_highest_rows(df, law.target, drop), 0
    by_seed = dict(cells=df[list(law.covariates)].astype(str).agg("|".join, axis=1).to_numpy(),
                   clusters=df["seed"].to_numpy())
  result = fit(law, df, bootstrap=args.bootstrap, seed=args.seed, delta=args.delta,
               drop_highest=drop, loo=args.loo, max_iter=args.max_iter, **by_seed)
  if not result.converged:
    print(result.table(), file=sys.stderr)
    print(f"error: the {law.name} fit did not converge; nothing written to {args.json}", file=sys.stderr)
    return 1
  fileio.write_json_atomic(args.json, result.to_dict())
  print(result.table())
  print(f"wrote {args.json}")
  return 0
