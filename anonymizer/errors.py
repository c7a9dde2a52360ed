"""Exceptions raised by the de-identification engine.

Messages name files by their relative path and say what is wrong; they never quote a value
read from the data set (it may be personal data).
"""

from __future__ import annotations


class DeidError(Exception):
    """Base class: a file could not be de-identified; nothing was written for it."""


class ProfileError(DeidError, KeyError):
    """An unknown profile name or option was asked for."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InputError(DeidError):
    """The input is not a DICOM file this engine can read (not Part 10, truncated, too big...)."""


class UnsupportedTransferSyntax(InputError):
    """The transfer syntax is unknown or its pixel data cannot be decoded here."""


class PixelCleaningError(DeidError):
    """Pixel data at risk of burned-in text could not be checked or masked."""
