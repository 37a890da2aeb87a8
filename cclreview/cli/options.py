"""Options of the commands, declared once.

Every stage command names its folders the same way: ``--out`` (``out_dir``, a folder;
the report's ``--out`` is a file, :func:`out_file`), ``--processed`` (``processed``) and
``--weights`` (``weights_path``). Defaults are None here and resolved by the command
from :func:`cclreview.config.project_paths`, so ``$CCLREVIEW_HOME`` applies.

The other options go through the factories :func:`file`, :func:`folder`,
:func:`value`, :func:`setting` and :func:`flag`, so each kind of option (a path or a
value with no default, a value whose default ``--help`` shows, an on/off switch) is
spelt once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _decls(name: str, dest: str | None) -> tuple[str, ...]:
    return (name, dest) if dest else (name,)


def file(
    name: str,
    help: str,
    *,
    dest: str | None = None,
    exists: bool = False,
    path_type: type = Path,
    **extra: Any,
) -> Callable[[F], F]:
    """``NAME FILE``, default None (parameter ``dest``, else from ``name``)."""
    kind = click.Path(dir_okay=False, exists=exists, path_type=path_type)
    return click.option(*_decls(name, dest), type=kind, default=None, help=help, **extra)


def folder(name: str, help: str, *, dest: str | None = None) -> Callable[[F], F]:
    """``NAME DIR``, default None (parameter ``dest``, else from ``name``)."""
    kind = click.Path(file_okay=False, path_type=Path)
    return click.option(*_decls(name, dest), type=kind, default=None, help=help)


def value(name: str, kind: Any, help: str, **extra: Any) -> Callable[[F], F]:
    """``NAME VALUE`` of click type ``kind``, default None (the command fills it in)."""
    return click.option(name, type=kind, default=None, help=help, **extra)


def setting(name: str, default: Any, help: str, **extra: Any) -> Callable[[F], F]:
    """``NAME VALUE`` with a default that ``--help`` shows (type from ``default``, or ``type=``)."""
    return click.option(name, default=default, show_default=True, help=help, **extra)


def flag(name: str, help: str, *, dest: str | None = None) -> Callable[[F], F]:
    """An on/off switch ``NAME`` (False unless given)."""
    return click.option(*_decls(name, dest), is_flag=True, help=help)


def out_dir(help: str = "Output folder [default: data/processed].") -> Callable[[F], F]:
    """``--out DIR`` (parameter ``out_dir``)."""
    return folder("--out", help, dest="out_dir")


def out_file(help: str) -> Callable[[F], F]:
    """``--out FILE`` (parameter ``out``)."""
    return file("--out", help, dest="out")


def processed(
    help: str = "Folder of the processed tables [default: data/processed].",
) -> Callable[[F], F]:
    """``--processed DIR`` (parameter ``processed``)."""
    return folder("--processed", help, dest="processed")


def weights(help: str = "Weights TOML file [default: config/weights.toml].") -> Callable[[F], F]:
    """``--weights FILE`` (parameter ``weights_path``)."""
    return file("--weights", help, dest="weights_path")


def mirror(help: str = "Copy sources from this local directory [env CCLREVIEW_MIRROR].") -> Callable[[F], F]:
    """``--mirror DIR`` (parameter ``mirror``, also from ``$CCLREVIEW_MIRROR``)."""
    return click.option("--mirror", type=click.Path(file_okay=False), envvar="CCLREVIEW_MIRROR", help=help)


def ecfr_date() -> Callable[[F], F]:
    """``--date YYYY-MM-DD``: an eCFR issue date (fetch commands)."""
    return click.option(
        "--date", default=None, metavar="YYYY-MM-DD", help="eCFR issue date (default: latest)."
    )
