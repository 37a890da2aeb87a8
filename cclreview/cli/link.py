"""CLI commands of the link stage (placeholder until the stage lands)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
