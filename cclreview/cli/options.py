"""Options shared by the stage commands, declared once.

Every stage command names its folders the same way: ``--out`` (``out_dir``, a folder;
the report's ``--out`` is a file, :data:`out_file`), ``--processed`` (``processed``) and
``--weights`` (``weights_path``). Defaults are None here and resolved by the command
from :func:`cclreview.config.project_paths`, so ``$CCLREVIEW_HOME`` applies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def out_dir(help: str = "Output folder [default: data/processed].") -> Callable[[F], F]:
    """``--out DIR`` (parameter ``out_dir``)."""
    return click.option(
        "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=help
    )


def out_file(help: str) -> Callable[[F], F]:
    """``--out FILE`` (parameter ``out``)."""
    return click.option(
        "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help
    )


def processed(
    help: str = "Folder of the processed tables [default: data/processed].",
) -> Callable[[F], F]:
    """``--processed DIR`` (parameter ``processed``)."""
    return click.option(
        "--processed", "processed", type=click.Path(file_okay=False, path_type=Path), default=None, help=help
    )


def weights(help: str = "Weights TOML file [default: config/weights.toml].") -> Callable[[F], F]:
    """``--weights FILE`` (parameter ``weights_path``)."""
    return click.option(
        "--weights", "weights_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help
    )


def mirror(help: str = "Copy sources from this local directory [env CCLREVIEW_MIRROR].") -> Callable[[F], F]:
    """``--mirror DIR`` (parameter ``mirror``, also from ``$CCLREVIEW_MIRROR``)."""
    return click.option("--mirror", type=click.Path(file_okay=False), envvar="CCLREVIEW_MIRROR", help=help)
