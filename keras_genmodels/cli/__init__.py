"""The `keras-genmodels` command line."""

from keras_genmodels.cli.common import CLIError
from keras_genmodels.cli.main import build_parser, main

__all__ = ["CLIError", "build_parser", "main"]
