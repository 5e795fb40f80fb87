"""A transfer study: config -> runs -> vmapped ensembles -> one JSON record per run."""
