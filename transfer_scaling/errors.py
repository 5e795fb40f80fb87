"""One exception for bad input: the CLI prints its message on one line and exits 2."""


class UsageError(ValueError):
  """Bad input from the user. The message names the problem and the fix."""
