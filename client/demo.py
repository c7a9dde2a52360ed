"""``traza demo``: two synthetic donations through the pipeline on the local network.

The first goes end to end with one change-request loop: registration (the QR e-mailed to
the local mail server), consent, two DICOM files with planted synthetic Mexican PHI staged
encrypted in MinIO, de-identification, a clinician's signed finding, review, a request for
changes, a second de-identification and review, acceptance, storage in the library. The
second is revoked after acquisition and erased, with its receipt. Every transaction id and
block is printed, then the donor's Spanish summary, the QR and the viewer link.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import click
import qrcode
from pydicom import dcmread
from pydicom.data import get_testdata_file

from anonymizer.files import atomic_write

from .donations import Source
from .errors import DonationError
from .ledger import Actor
from .mail import MailError
from .objects import ObjectStoreError
from .settings import Settings, open_pipeline
from .synthetic import DEMO_PERSON
from .workflow import PipelineError

DEMO_EMAIL = "donante.demo@example.org"  # reserved domain: no real mailbox


def write_originals(folder: Path) -> Path:
    """Two small pydicom test files carrying the demo person's synthetic PHI."""
    for i, name in enumerate(("CT_small.dcm", "MR_small.dcm")):
        ds = dcmread(get_testdata_file(name))
        ds.SpecificCharacterSet = "ISO_IR 192"
        for keyword, value in DEMO_PERSON.dicom_attributes().items():
            setattr(ds, keyword, value)
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        (folder / f"{i:02d}.dcm").write_bytes(buf.getvalue())
    return folder


DONOR_DECISIONS = {"Consent", "RequestChanges", "Accept", "Revoke"}


def _say(ev: dict[str, Any], actor: Actor) -> None:
    who = f"{actor}" + (" en nombre del donante" if ev["step"] in DONOR_DECISIONS else "")
    click.echo(f"  {ev['step']:<17} {ev.get('from') or '-':>17} -> {ev['to']:<17} "
               f"bloque {ev.get('blockNumber') or '?':<4} tx {ev['txId'][:16]}…  ({who})")


def run_demo(settings: Settings, *, mail_dir: Path | None, receipts_dir: Path) -> str:
    """Run both donations; return the first one's viewer URL."""
    intake = settings.pipeline.intake_org
    with open_pipeline(settings, on_step=_say) as p, tempfile.TemporaryDirectory() as tmp:
        originals = write_originals(Path(tmp))
        click.echo(f"Donación 1 (datos sintéticos), ingreso por {intake}:")
        reg = p.register(DEMO_EMAIL)
        did = reg.donation_id
        p.consent(did)
        p.ingest(did, originals, Source("synthetic"))
        p.deidentify(did)
        p.diagnose(did, "R91.8", "Nódulo pulmonar solitario de 8 mm en lóbulo superior "
                   "derecho; sugiere control en 6 meses.", clinician=Actor("imss", "clinician1"))
        p.submit_for_review(did)
        p.request_changes(did, "Prefiero que también se oculte la fecha del estudio.")
        results = p.deidentify(did)
        p.submit_for_review(did)
        p.accept(did)
        library = p.store(did)
        click.echo(f"  {did}: en la biblioteca {len(library)} objetos nombrados por su SHA-256 "
                   f"({', '.join(h[:12] + '…' for h in library)}); nada fuera de la cadena "
                   "lo liga ya al donante")

        click.echo("\nDonación 2: revocada por el donante tras la adquisición:")
        reg2 = p.register(DEMO_EMAIL)
        p.consent(reg2.donation_id)
        p.ingest(reg2.donation_id, originals, Source("synthetic"))
        receipt = p.revoke(reg2.donation_id)
        path = receipts_dir / f"{reg2.donation_id}.json"
        receipt.save(str(path))
        atomic_write(path.with_suffix(".txt"), receipt.text_es())
        click.echo(f"  constancia de borrado: {path} y {path.with_suffix('.txt').name}\n"
                   f"  compruébela con: traza verify receipt {path}")
    click.echo("\nLo que el donante lee sobre la desidentificación:")
    for r in results:
        click.echo(f"  - {r.summary_es}")
    kept = sorted(mail_dir.glob("*.eml")) if mail_dir else []
    if kept:
        click.echo(f"\nCorreos con el QR (servidor SMTP local): {kept[-2]} y {kept[-1].name}")
    return reg.viewer_url


@click.command()
@click.option("--intake", default="hospital", show_default=True,
              help="Org that registers the donor (university, hospital, imss).")
@click.pass_context
def demo(ctx: click.Context, intake: str) -> None:
    """Run two demo donations through the pipeline on the network of `traza network up`."""
    o = ctx.obj
    settings = Settings.for_run_dir(Path(o["run_dir"]), intake, mail=o.get("mail"),
                                    viewer_base=o.get("viewer_url", "http://127.0.0.1:8080"),
                                    deid_org="university")  # the library's own service
    try:
        link = run_demo(settings, mail_dir=o.get("mail_dir"),
                        receipts_dir=Path(o["run_dir"]) / "receipts")
    except (DonationError, PipelineError, ObjectStoreError, MailError) as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from e
    click.echo(f"\nEnlace del visor (el QR del correo): {link}")
    qr = qrcode.QRCode(border=1)
    qr.add_data(link)
    qr.print_ascii(invert=True)
