"""Exit codes and the one error type every command uses for bad input."""

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad input or configuration: reported in one line, exit code 2."""
