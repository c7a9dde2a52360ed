"""``traza donation ...``, ``traza verify receipt``, ``traza keys rotate``, ``traza worker``.

Each command is one pipeline step for one donation; failures are ``ClickException``s that
name the donation and the step, never personal data. The settings come from the options
(``TRAZA_*`` environment variables) or from the layout of ``traza network up``, which the
composition root (:mod:`client.cli`) hands down as ``ctx.obj["run_dir"]`` and
``ctx.obj["mail"]``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, get_args

import click

from .donations import AgeBand, Evidence, Source
from .donor import sha256_hex
from .errors import DonationError
from .ledger import Actor
from .mail import MailError
from .objects import ObjectStoreError
from .receipt import Receipt, verify_receipt
from .settings import Settings, open_pipeline
from .workflow import PipelineError

AGE_BANDS = get_args(AgeBand)
FAILURES = (DonationError, PipelineError, ObjectStoreError, MailError, ValueError, OSError)


def _settings(ctx: click.Context) -> Settings:
    o = ctx.obj
    return Settings.for_run_dir(
        Path(o["run_dir"]), o["intake"], mail=o.get("mail"), database_url=o.get("database_url"),
        viewer_base=o["viewer_url"], deid_org=o.get("deid_org"),
        **({"operator": o["operator"]} if o.get("operator") else {}))


def _run(ctx: click.Context, fn: Any) -> Any:
    try:
        with open_pipeline(_settings(ctx)) as p:
            return fn(p)
    except FAILURES as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from e


def _show(evidence: dict[str, Any]) -> None:
    click.echo(f"{evidence.get('step')}: {evidence.get('from') or '-'} -> {evidence.get('to')}"
               f"  block {evidence.get('blockNumber')}  tx {evidence.get('txId')}")


def source_of(synthetic: bool, age_band: str | None, condition: str | None) -> Source:
    """The data source of ``--synthetic`` or ``--age-band [--condition]``."""
    if synthetic == bool(age_band):
        raise click.UsageError("give either --synthetic or --age-band (human data)")
    if synthetic and condition:
        raise click.UsageError("synthetic data has no --condition")
    return Source("synthetic") if synthetic else Source("human", age_band, condition)  # type: ignore[arg-type]


def source_options(f: Any) -> Any:
    """``--synthetic``, ``--age-band``, ``--condition``: the data source of an Acquire."""
    f = click.option("--condition", help="ICD-10 code of the condition (human data).")(f)
    f = click.option("--age-band", type=click.Choice(AGE_BANDS))(f)
    return click.option("--synthetic", is_flag=True,
                        help="The data is synthetic, not from a person.")(f)


def _actor(value: str) -> Actor:
    org, sep, user = value.partition("/")
    if not sep or not org or not user:
        raise click.BadParameter("expected ORG/USER, e.g. imss/clinician1")
    return Actor(org, user)


@click.group()
@click.option("--intake", default="hospital", show_default=True,
              help="The intake org whose pipeline this is (university, hospital, imss).")
@click.option("--database-url", default=None,
              help="SQLAlchemy URL (default: an SQLite file in the intake org's pipeline home).")
@click.option("--viewer-url", default="http://127.0.0.1:8080", show_default=True,
              help="Base URL of the trace viewer the QR opens.")
@click.option("--deid-org", default=None, help="Org whose service de-identifies (default: intake).")
@click.pass_context
def donation(ctx: click.Context, intake: str, database_url: str | None, viewer_url: str,
             deid_org: str | None) -> None:
    """Take a donation through its steps (each one a ledger transaction)."""
    ctx.ensure_object(dict)
    ctx.obj.update(intake=intake, database_url=database_url, viewer_url=viewer_url,
                   deid_org=deid_org)


@donation.command()
@click.option("--email", prompt="Correo del donante", help="The donor's e-mail (kept encrypted).")
@click.pass_context
def register(ctx: click.Context, email: str) -> None:
    """Register a donor and e-mail the QR of the trace."""
    r = _run(ctx, lambda p: p.register(email))
    click.echo(f"donation {r.donation_id} registered; QR e-mailed"
               + (f" (message {r.message_id})" if r.message_id else " (mail is off)"))


@donation.command("reissue-qr")
@click.argument("donation_id")
@click.pass_context
def reissue_qr(ctx: click.Context, donation_id: str) -> None:
    """Send the donor a new QR; the previous one stops opening the trace."""
    r = _run(ctx, lambda p: p.reissue_qr(donation_id))
    click.echo(f"new QR for {r.donation_id} e-mailed" + ("" if r.message_id else
                                                         " (mail is off)"))


@donation.command()
@click.argument("donation_id")
@click.option("--signature", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scan of the signed consent form (its SHA-256 is the evidence).")
@click.option("--regime", type=click.Choice(["LFPDPPP_2025", "LGPDPPSO"]), default=None)
@click.option("--minor", is_flag=True, help="The donor is a minor.")
@click.option("--guardian-signature", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
              help="Scan of the parent's or guardian's signature (needed with --minor).")
@click.pass_context
def consent(ctx: click.Context, donation_id: str, signature: Path | None, regime: str | None,
            minor: bool, guardian_signature: Path | None) -> None:
    """Record the donor's consent (the form's SHA-256 goes on the ledger)."""
    if minor and guardian_signature is None:
        raise click.BadParameter("a minor's consent needs --guardian-signature",
                                 param_hint="--guardian-signature")

    def evidence(path: Path | None) -> Evidence | None:
        return Evidence("signature", sha256_hex(path.read_bytes())) if path else None

    _show(_run(ctx, lambda p: p.consent(
        donation_id, acceptance=evidence(signature), legal_regime=regime, minor=minor,
        guardian_evidence=evidence(guardian_signature))))


@donation.command()
@click.argument("donation_id")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@source_options
@click.pass_context
def ingest(ctx: click.Context, donation_id: str, path: Path, synthetic: bool,
           age_band: str | None, condition: str | None) -> None:
    """Stage a DICOM file, folder or zip (encrypted) and record the acquisition."""
    source = source_of(synthetic, age_band, condition)
    hashes = _run(ctx, lambda p: p.ingest(donation_id, path, source))
    click.echo(f"{len(hashes)} originals staged encrypted; Acquire committed")


@donation.command()
@click.argument("donation_id")
@click.pass_context
def deidentify(ctx: click.Context, donation_id: str) -> None:
    """De-identify the staged originals; reports staged; the step on the ledger."""
    results = _run(ctx, lambda p: p.deidentify(donation_id))
    click.echo(f"{len(results)} files de-identified")
    for r in results:
        click.echo(f"  - {r.summary_es}")


@donation.command()
@click.argument("donation_id")
@click.option("--code", required=True, help="ICD-10 code of the finding, e.g. R91.8.")
@click.option("--text", default="", help="Impression in Spanish (no personal data).")
@click.option("--clinician", "clinician", default="imss/clinician1", show_default=True,
              help="ORG/USER of the clinician whose identity signs.")
@click.pass_context
def diagnose(ctx: click.Context, donation_id: str, code: str, text: str, clinician: str) -> None:
    """Record a signed finding (submitted with the clinician's own identity)."""
    signed = _run(ctx, lambda p: p.diagnose(donation_id, code, text, clinician=_actor(clinician)))
    click.echo(f"finding {signed.sha256[:16]}… signed by {clinician}; Diagnose committed")


@donation.command()
@click.argument("donation_id")
@click.pass_context
def review(ctx: click.Context, donation_id: str) -> None:
    """Submit the de-identified donation for the donor's review."""
    session = _run(ctx, lambda p: p.submit_for_review(donation_id))
    click.echo(f"review session {session} open for {donation_id}")


@donation.command()
@click.argument("donation_id")
@click.argument("decision", type=click.Choice(["accept", "changes", "refuse"]))
@click.option("--comment", default=None, help="The donor's comment (kept encrypted).")
@click.option("--receipt", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the erasure receipt (refuse).")
@click.pass_context
def decide(ctx: click.Context, donation_id: str, decision: str, comment: str | None,
           receipt: Path | None) -> None:
    """Record the donor's decision: accept, ask for changes, or refuse (then erase)."""
    def take(p: Any) -> Any:
        if decision == "accept":
            return p.accept(donation_id)
        step = p.request_changes if decision == "changes" else p.refuse
        return step(donation_id, comment)

    _report(_run(ctx, take), receipt)


def _report(out: Any, receipt: Path | None) -> None:
    if isinstance(out, Receipt):
        if receipt:
            out.save(str(receipt))
            click.echo(f"erasure receipt written to {receipt}")
        click.echo(out.text_es())
    else:
        _show(out)


@donation.command()
@click.argument("donation_id")
@click.pass_context
def store(ctx: click.Context, donation_id: str) -> None:
    """Publish the accepted donation to the library and purge every off-chain link."""
    hashes = _run(ctx, lambda p: p.store(donation_id))
    click.echo(f"{len(hashes)} objects in the library; donation {donation_id} STORED")


@donation.command()
@click.argument("donation_id")
@click.option("--receipt", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the erasure receipt.")
@click.pass_context
def revoke(ctx: click.Context, donation_id: str, receipt: Path | None) -> None:
    """Revoke the donation (any step before STORED): erase it and print the receipt."""
    _report(_run(ctx, lambda p: p.revoke(donation_id)), receipt)


@click.group()
def verify() -> None:
    """Check evidence against the ledger."""


@verify.command("receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--intake", default="hospital", show_default=True)
@click.pass_context
def verify_receipt_cmd(ctx: click.Context, file: Path, intake: str) -> None:
    """Check an erasure receipt against the ledger and MinIO (exit 1 if any check fails)."""
    ctx.obj.update(intake=intake, viewer_url="http://127.0.0.1:8080")
    try:
        rec = Receipt.from_json(file.read_bytes())
    except ValueError as e:
        raise click.ClickException(str(e)) from e

    def check(p: Any) -> list:
        return verify_receipt(rec, p.ledger.donations(p.config.service_actor),
                              p.objects.staging.exists)

    checks = _run(ctx, check)
    for c in checks:
        click.echo(f"[{'ok' if c.ok else 'FALLA'}] {c.what}" + (f" ({c.detail})" if c.detail
                                                               else ""))
    if not all(c.ok for c in checks):
        raise click.ClickException("the receipt does not match the ledger and the objects")


@click.group()
def keys() -> None:
    """The intake org's key-encryption keys."""


@keys.command("rotate")
@click.option("--intake", default="hospital", show_default=True)
@click.pass_context
def rotate(ctx: click.Context, intake: str) -> None:
    """Make a new key-encryption key and re-wrap every data key (objects untouched)."""
    ctx.obj.update(intake=intake, viewer_url="http://127.0.0.1:8080")
    n = _run(ctx, lambda p: p.rotate_keys())
    click.echo(f"{n} data keys re-wrapped under the new key-encryption key")


@click.command()
@click.option("--intake", default="hospital", show_default=True)
@click.pass_context
def worker(ctx: click.Context, intake: str) -> None:
    """Run the outbox worker: submit queued ledger steps until interrupted."""
    ctx.obj.update(intake=intake, viewer_url="http://127.0.0.1:8080")
    stop = threading.Event()

    def serve(p: Any) -> None:
        finished = p.recover()  # donations a crash left half-closed
        if finished:
            click.echo(f"finished the purge of {len(finished)} donations")
        try:
            p.worker.run(stop)
        except KeyboardInterrupt:
            stop.set()

    _run(ctx, serve)
