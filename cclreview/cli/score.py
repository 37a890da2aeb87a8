"""CLI commands of the score stage (placeholder until the stage lands)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
