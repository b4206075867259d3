"""The package version, in one place below every layer (the CLI, SARIF logs and `losslint.__version__` read it)."""

__version__ = "0.1.0"
