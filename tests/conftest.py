"""Every test process runs JAX on one CPU device, whatever the machine's core count.

The command-line entry points split batches over one CPU device per core by default
(`--cpu-devices`); tests that call them in-process compare against subprocesses given
an explicit device count, so this process's count is fixed here, before any test runs.
"""
import jax

jax.devices()  # initialises the backends: later requests for more CPU devices change nothing
