"""The training engine: vmapped ensembles, early stopping, data parallelism, checkpoints."""
