"""De-identification of DICOM (PS3.15 Annex E with options) and Spanish clinical text.

Public API::

    from anonymizer import deidentify_file, run, get_profile
    report = deidentify_file("in.dcm", "out.dcm", secret=key, donor="D-17")
    report.sha256(), report.summary_es()

The ``traza deid`` command is :data:`anonymizer.cli.deid`.
"""

from anonymizer.archive import ZipLimits
from anonymizer.engines import Engines
from anonymizer.errors import (
    DeidError,
    InputError,
    PixelCleaningError,
    ProfileError,
    UnsupportedTransferSyntax,
)
from anonymizer.pipeline import (
    FileResult,
    RunResult,
    deidentify_bytes,
    deidentify_file,
    patient_scope,
    run,
)
from anonymizer.profile import PROFILES, Option, Profile, SafePrivate, action_for, get_profile
from anonymizer.report import Report

__all__ = [
    "PROFILES",
    "DeidError",
    "Engines",
    "FileResult",
    "InputError",
    "Option",
    "PixelCleaningError",
    "Profile",
    "ProfileError",
    "Report",
    "RunResult",
    "SafePrivate",
    "UnsupportedTransferSyntax",
    "ZipLimits",
    "action_for",
    "deidentify_bytes",
    "deidentify_file",
    "get_profile",
    "patient_scope",
    "run",
]
