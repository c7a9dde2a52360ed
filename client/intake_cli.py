"""``traza intake paper`` and ``traza intake pacs``: the paper and PACS intake channels.

``paper`` takes a scanned record through manual de-identification: ``--propose FILE``
writes the boxes OCR proposes (nothing is staged or recorded), the operator edits them, and
``--boxes FILE`` stages the scans (Acquire) and burns the boxes in (Deidentify, manual).
Without PAGES both act on the record already staged for the donation (after the donor
asked for changes). ``pacs`` runs the Storage SCP (and, with ``--stow-port``, DICOMweb
STOW-RS) in the foreground until Ctrl-C; ``pacs expect`` registers the study a PACS will
push for a donation.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import click

from anonymizer.files import atomic_write

from . import paper
from .donation_cli import FAILURES, _run, source_of, source_options
from .pacs import DICOM_PORT, PacsSettings, StoreSCP, TLSFiles
from .stow import StowRS


@click.group()
@click.option("--intake", "--org", "intake", default="hospital", show_default=True,
              help="The intake org whose pipeline this is (university, hospital, imss).")
@click.option("--database-url", default=None,
              help="SQLAlchemy URL (default: an SQLite file in the intake org's pipeline home).")
@click.option("--operator", default="operator1", show_default=True,
              help="The intake org's operator whose Fabric identity signs the steps.")
@click.pass_context
def intake(ctx: click.Context, intake: str, database_url: str | None, operator: str) -> None:
    """Intake channels besides uploaded DICOM: scanned paper records and a PACS."""
    ctx.ensure_object(dict)
    ctx.obj.update(intake=intake, database_url=database_url, operator=operator)
    ctx.obj.setdefault("viewer_url", "http://127.0.0.1:8080")


def _read(files: tuple[Path, ...]) -> list[bytes]:
    return [f.read_bytes() for f in files]


@intake.command("paper")
@click.argument("donation_id")
@click.argument("pages", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--propose", "propose_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the boxes OCR proposes to this JSON file for the operator to edit.")
@click.option("--boxes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The operator's boxes (JSON): burn them in and record the steps.")
@source_options
@click.pass_context
def paper_cmd(ctx: click.Context, donation_id: str, pages: tuple[Path, ...],
              propose_to: Path | None, boxes: Path | None, synthetic: bool,
              age_band: str | None, condition: str | None) -> None:
    """De-identify a scanned paper record by hand (PDF, JPEG, PNG, TIFF pages)."""
    if (propose_to is None) == (boxes is None):
        raise click.UsageError("give either --propose FILE or --boxes FILE")
    if propose_to is not None:
        try:
            proposal = (paper.propose(paper.rasterize(_read(pages))) if pages else
                        _run(ctx, lambda p: p.propose_paper(donation_id)))
        except FAILURES as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from e
        atomic_write(propose_to, json.dumps(paper.boxes_to_json(proposal), indent=1).encode())
        n = sum(len(p.boxes) for p in proposal)
        click.echo(f"{n} boxes proposed on {len(proposal)} pages; written to {propose_to}")
        return
    assert boxes is not None
    try:
        edited = json.loads(boxes.read_text())
        if pages:  # check the boxes against the scans before anything is staged
            paper.boxes_from_json(edited, paper.rasterize(_read(pages)))
    except (*FAILURES, json.JSONDecodeError) as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from e
    source = source_of(synthetic, age_band, condition) if pages else None

    def steps(p: Any) -> Any:
        if pages:
            p.ingest_paper(donation_id, _read(pages), source)
        return p.deidentify_paper(donation_id, edited)

    done = _run(ctx, steps)
    click.echo(f"{len(done.report['pages'])} pages de-identified by hand; Deidentify committed")
    click.echo(f"  - {done.summary_es}")


@intake.group("pacs", invoke_without_command=True)
@click.option("--ae-title", default="TRAZA", show_default=True, help="This SCP's AE title.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=DICOM_PORT, show_default=True)
@click.option("--calling-ae", multiple=True, help="Accept only these calling AE titles.")
@click.option("--max-associations", type=int, default=4, show_default=True)
@click.option("--max-pdu", type=int, default=262_144, show_default=True)
@click.option("--max-instances", type=int, default=5_000, show_default=True,
              help="Instances per association.")
@click.option("--max-bytes", type=int, default=2 * 1024**3, show_default=True,
              help="Bytes per association.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CA of the PACS client certificates (TLS: all three files).")
@click.option("--stow-port", type=int, default=None,
              help="Also serve DICOMweb STOW-RS (POST /studies) on this port.")
@click.pass_context
def pacs(ctx: click.Context, ae_title: str, host: str, port: int, calling_ae: tuple[str, ...],
         max_associations: int, max_pdu: int, max_instances: int, max_bytes: int,
         tls_cert: Path | None, tls_key: Path | None, tls_ca: Path | None,
         stow_port: int | None) -> None:
    """Run the DICOM Storage SCP (and STOW-RS) in the foreground (Ctrl-C stops it)."""
    if ctx.invoked_subcommand is not None:
        return
    tls_files = (tls_cert, tls_key, tls_ca)
    if any(tls_files) and not all(tls_files):
        raise click.UsageError("TLS needs --tls-cert, --tls-key and --tls-ca")
    try:
        settings = PacsSettings(
            ae_title=ae_title, host=host, port=port, calling_ae_titles=calling_ae,
            max_associations=max_associations, max_pdu=max_pdu, max_instances=max_instances,
            max_bytes=max_bytes, tls=TLSFiles(*tls_files) if all(tls_files) else None)  # type: ignore[arg-type]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--ae-title") from e
    stop = threading.Event()

    def serve(p: Any) -> None:
        scp = StoreSCP(p, settings, on_acquired=lambda d, h: click.echo(
            f"{d}: {len(h)} instances staged encrypted; Acquire committed"))
        stow = StowRS(scp, stow_port).start() if stow_port else None
        click.echo(f"SCP {ae_title} on {host}:{port}{' (TLS)' if settings.tls else ''}"
                   + (f", STOW-RS on {host}:{stow_port}" if stow else "") + "; Ctrl-C stops")
        try:
            scp.serve_forever(stop)
        except KeyboardInterrupt:
            stop.set()
        finally:
            if stow:
                stow.stop()
        click.echo("SCP stopped")

    _run(ctx, serve)


@pacs.command("expect")
@click.argument("donation_id")
@click.option("--study-uid", required=True, help="Study Instance UID the PACS will send.")
@source_options
@click.pass_context
def expect(ctx: click.Context, donation_id: str, study_uid: str, synthetic: bool,
           age_band: str | None, condition: str | None) -> None:
    """Register the study a PACS will push for DONATION_ID (only its keyed hash is kept)."""
    source = source_of(synthetic, age_band, condition)
    _run(ctx, lambda p: p.expect_study(donation_id, study_uid, source))
    click.echo(f"study expected for {donation_id}; the PACS may send it")
