"""``traza demo``: one synthetic donation through the whole lifecycle on the local network.

It plants synthetic Mexican PHI in two small DICOM files shipped with pydicom, de-identifies
them, and walks the donation from registration to STORED as the org and role of each step,
printing every transaction id and block, the donor's Spanish summary and the QR.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import click
import qrcode
from pydicom import dcmread
from pydicom.data import get_testdata_file

from .donations import Consent, Donations, Evidence, Source, Step, reports_sha256
from .donor import DonorSecret, new_id, sha256_hex
from .errors import DonationError
from .profile import Profile

# Synthetic identity: no real person. Planted to show it never reaches the ledger.
SYNTHETIC_PHI = {
    "PatientName": "HERNÁNDEZ LÓPEZ^MARÍA GUADALUPE",
    "PatientID": "HELM850312MDFRPR09",
    "PatientBirthDate": "19850312",
    "InstitutionName": "Hospital General de Zona No. 32 IMSS",
    "ImageComments": "Paciente María Guadalupe Hernández López, NSS 12345678903, "
                     "tel. 55 1234 5678, Col. Narvarte C.P. 03020",
}
VIEWER = "http://127.0.0.1:8080/t/"  # served by the web app (next issue)


def _originals() -> list[bytes]:
    out = []
    for name in ("CT_small.dcm", "MR_small.dcm"):
        ds = dcmread(get_testdata_file(name))
        ds.SpecificCharacterSet = "ISO_IR 192"
        for keyword, value in SYNTHETIC_PHI.items():
            setattr(ds, keyword, value)
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        out.append(buf.getvalue())
    return out


def _say(step: Step, who: str) -> None:
    ev = step.evidence
    click.echo(f"  {ev['step']:<17} {ev['from'] or '-':>17} -> {ev['to']:<13} "
               f"block {step.block_number:<4} tx {step.transaction_id[:16]}…  ({who})")


@click.command()
@click.option("--intake", default="hospital", show_default=True,
              help="Org that registers the donor (university, hospital, imss).")
@click.option("--profiles", "profiles_dir", envvar="TRAZA_PROFILES", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Connection profiles folder, <org>/<user>.json (`traza network up` "
                   "writes network/run/profiles).")
def demo(intake: str, profiles_dir: Path) -> None:
    """Run a demo donation end to end on the network of `traza network up`."""
    from anonymizer import deidentify_bytes

    donor = DonorSecret.new(new_id("d"), new_id("p"))
    did = donor.donation_id
    originals = _originals()
    key = secrets.token_bytes(32)
    results = [deidentify_bytes(o, secret=key, donor=did, name=f"file-{i}")
               for i, o in enumerate(originals)]
    deid = [sha256_hex(data) for data, _ in results]
    reports = [r for _, r in results]
    click.echo(f"Donación {did} (datos sintéticos), ingreso por {intake}:")

    def as_(org: str, user: str):
        try:
            profile = Profile.from_dir(profiles_dir, org, user)
        except ValueError as e:
            raise click.ClickException(str(e)) from e
        return profile.contract()

    try:
        with as_(intake, "operator1") as c:
            d = Donations(c)
            _say(d.register(donor), f"{intake}/operator1")
            d.link_donor(donor, contact_ref=new_id("c"))
            _say(d.consent(did, Consent(
                form_id="consent-general", form_version="1",
                form_sha256=sha256_hex("Formulario de consentimiento v1"),
                acceptance=Evidence("otp", sha256_hex(secrets.token_hex(8))),
                legal_regime="LGPDPPSO")), f"{intake}/operator1")
            _say(d.acquire(did, [sha256_hex(o) for o in originals],
                           Source("synthetic")), f"{intake}/operator1")
        with as_("university", "service1") as c:
            report_set = reports_sha256([r.sha256() for r in reports])
            _say(Donations(c).deidentify(did, deid, profile_id=reports[0].profile_id,
                                         profile_version=reports[0].profile_version,
                                         report_sha256=report_set), "university/service1")
        with as_("imss", "clinician1") as c:
            _say(Donations(c).diagnose(did, sha256_hex(secrets.token_hex(8)),
                                       finding_code="R91.8"), "imss/clinician1")
        with as_(intake, "service1") as c:
            d = Donations(c)
            _say(d.submit_for_review(did, new_id("s")), f"{intake}/service1")
            _say(d.accept(did), f"{intake}/service1 (decisión del donante)")
            _say(d.store(did, deid), f"{intake}/service1")
            assert d.verify_commitment(donor)
    except DonationError as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from e
    click.echo("\nLo que el donante lee sobre la desidentificación:")
    for r in reports:
        click.echo(f"  - {r.summary_es()}")
    link = VIEWER + donor.qr_token
    click.echo(f"\nEnlace del visor (QR; la página llega con la aplicación web): {link}")
    qr = qrcode.QRCode(border=1)
    qr.add_data(link)
    qr.print_ascii(invert=True)
