"""TorchScript to .ifg converter internals (used by scripts/convert)."""


class ConvertError(Exception):
    """An expected, user-facing conversion failure (reported in one line, exit code 2)."""
