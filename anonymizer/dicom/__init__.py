"""Apply a PS3.15 Annex E profile to a pydicom data set, in place, recording every action.

:func:`deidentify_dataset` walks everything: the preamble and file meta (0002), all nested
sequences, private blocks (with or without creators), curves (50xx), overlays (60xx) and
pixel data. Table E.1-1 says what to do with each listed attribute; :data:`UNLISTED_RULES`
says what to do with the rest, by VR.

Modules: :mod:`~anonymizer.dicom.context` (:class:`Context`), :mod:`~anonymizer.dicom.walker`
(the walk and the actions), :mod:`~anonymizer.dicom.pixels` (burned-in text in pixel data
and overlays, transfer syntax of rewritten pixels), :mod:`~anonymizer.dicom.markers` (the
de-identification attributes) and :mod:`~anonymizer.dicom.deidentify` (the order of steps).

References
----------
DICOM PS3.15 2024b Annex E (E.1.1 actions, E.3 options); PS3.5 6.2 (VRs), 7.8 (private
data elements); PS3.3 C.12.1 (SOP Common: de-identification attributes).
"""


from anonymizer.dicom.context import Context
from anonymizer.dicom.deidentify import deidentify_dataset
from anonymizer.dicom.markers import MARKERS, write_markers
from anonymizer.dicom.pixels import (
    CONDITIONAL_MODALITIES,
    RISK_MODALITIES,
    at_risk,
    clean_overlays,
    clean_pixels,
)
from anonymizer.dicom.walker import DUMMY, UNLISTED_RULES, Walker, latest_date, resolve

__all__ = [
    "CONDITIONAL_MODALITIES",
    "DUMMY",
    "MARKERS",
    "RISK_MODALITIES",
    "UNLISTED_RULES",
    "Context",
    "Walker",
    "at_risk",
    "clean_overlays",
    "clean_pixels",
    "deidentify_dataset",
    "latest_date",
    "resolve",
    "write_markers",
]
