"""One data set de-identified under a profile: the order of the steps."""

from __future__ import annotations

from pydicom.dataset import FileDataset

from anonymizer import known_values
from anonymizer.dicom.conformance import drop_orphans, requirements
from anonymizer.dicom.context import Context
from anonymizer.dicom.markers import write_markers
from anonymizer.dicom.pixels import clean_overlays, clean_pixels
from anonymizer.dicom.walker import Walker, latest_date, walk_file_meta
from anonymizer.profile import EDITION
from anonymizer.report import Report


def deidentify_dataset(ds: FileDataset, ctx: Context) -> Report:
    """De-identify ``ds`` in place under ``ctx.profile``; return the filled report.

    Order: file meta and preamble, overlays, the data set (recursively; an X on a Type 1
    or 2 attribute of the file's IOD becomes D or Z), conditional attributes whose condition
    the walk removed (:mod:`~anonymizer.dicom.conformance`), pixel data, markers;
    the file meta's Media Storage SOP Instance UID maps with the same key as the SOP
    Instance UID, so they stay equal.
    """
    walker = Walker(ctx)
    # Before the walk removes them (unless the first pass over the donor's files did).
    walker.known = (ctx.known if ctx.known_complete and ctx.known is not None
                    else known_values.collect(ds, ctx.known))
    walker.latest_date = latest_date(ds)
    walker.requirements = requirements(str(ds.get("SOPClassUID", "") or ""))
    walk_file_meta(ds, walker)
    clean_overlays(ds, walker)
    walker.walk(ds)
    if walker.requirements is not None:
        drop_orphans(ds, walker, walker.requirements)
    clean_pixels(ds, ctx, known=walker.known)
    write_markers(ds, ctx.profile)
    ctx.report.edition = EDITION
    return ctx.report
