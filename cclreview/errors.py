"""Typed exceptions raised by the library.

The CLI maps every :class:`CCLReviewError` to a one-line ``Error: ...`` message and
exit code :attr:`CCLReviewError.exit_code`; library code never prints or exits.
Messages should name the file, the row or element, and the fix.
"""

from __future__ import annotations


class CCLReviewError(Exception):
    """Base class of every error the CLI reports as a one-line message."""

    exit_code: int = 1


class InputError(CCLReviewError):
    """An input file is malformed, empty, of an unknown format or lacks columns."""


class ValidationError(InputError):
    """A table failed schema validation; the message lists every failure (lazy)."""


class ConfigError(CCLReviewError):
    """A config file (weights, sources) is invalid: names the key path and value."""


class SourceMissingError(CCLReviewError):
    """A source file is absent and cannot be fetched: says which file to put where."""


class FetchError(CCLReviewError):
    """A download failed (network, HTTP status, checksum mismatch)."""


class OutputError(CCLReviewError):
    """An output cannot be written (locked workbook, read-only folder)."""


class TooManyRejectedError(InputError):
    """More rows were rejected than the configured fraction allows."""
