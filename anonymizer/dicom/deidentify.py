"""One data set de-identified under a profile: the order of the steps."""

from __future__ import annotations

from pydicom.dataset import FileDataset

from anonymizer import known_values
from anonymizer.dicom.context import Context
from anonymizer.dicom.markers import write_markers
from anonymizer.dicom.pixels import clean_overlays, clean_pixels
from anonymizer.dicom.walker import Walker, latest_date, walk_file_meta
from anonymizer.profile import EDITION
from anonymizer.report import Report


def deidentify_dataset(ds: FileDataset, ctx: Context) -> Report:
    """De-identify ``ds`` in place under ``ctx.profile``; return the filled report.

    Order: file meta and preamble, overlays, the data set (recursively), pixel data, markers;
    the file meta's Media Storage SOP Instance UID maps with the same key as the SOP
    Instance UID, so they stay equal.
    """
    walker = Walker(ctx)
    walker.known = known_values.collect(ds, ctx.known)  # before the walk removes them
    walker.latest_date = latest_date(ds)
    walk_file_meta(ds, walker)
    clean_overlays(ds, walker)
    walker.walk(ds)
    clean_pixels(ds, ctx, walker.known)
    write_markers(ds, ctx.profile)
    ctx.report.edition = EDITION
    return ctx.report
