"""CLI commands of the evidence and availability stages (placeholder until they land)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
