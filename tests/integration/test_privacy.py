"""Privacy invariant 1: no personal data on the ledger, in events or in node logs.

A donation of DICOM files carrying known synthetic Mexican PHI goes through the whole
lifecycle (originals hashed, de-identified by the anonymizer); then every block of the
channel is read back with Deliver and every node log is read, and none of the planted
values, nor the donor's secrets (pseudonym, contact reference, salt, QR token), is there.
"""

from __future__ import annotations

import hashlib
import secrets

import pytest

from anonymizer import deidentify_file
from bench.deid.corpus import generate_corpus
from client.donations import reports_sha256
from client.donor import new_id
from network import channel

from .donation_flow import Flow
from .helpers import leaks

pytestmark = pytest.mark.timeout(900)

KINDS = ("CT", "SR", "US", "RTSTRUCT")




@pytest.fixture(scope="module")
def donated(fabric, as_, tmp_path_factory):
    """Donate a few corpus files end to end; return (flow, planted PHI, contact ref)."""
    src = tmp_path_factory.mktemp("corpus")
    manifest = generate_corpus(src, n_files=22, seed=11, quiet=True)
    entries = [next(f for f in manifest.files if f["modality"] == k or f["kind"].upper() == k)
               for k in KINDS if any(f["modality"] == k or f["kind"].upper() == k
                                     for f in manifest.files)]
    planted: set[str] = set()
    for entry in entries:
        for info in manifest.labels_for(entry).values():
            planted |= {v for v in info["variants"] if len(v) >= 6}
    flow = Flow(as_)
    out = tmp_path_factory.mktemp("deid")
    key = secrets.token_bytes(32)
    flow.originals = [hashlib.sha256((src / e["path"]).read_bytes()).hexdigest() for e in entries]
    reports = [deidentify_file(src / e["path"], out / f"{i}.dcm", secret=key, donor=flow.id)
               for i, e in enumerate(entries)]
    contact = new_id("c")
    with as_("hospital", "operator1") as d:
        d.register(flow.donor)
        d.link_donor(flow.donor, contact_ref=contact)
    flow.run("consent")
    flow.run("acquire")
    with as_("university") as d:
        flow.deidentified = [hashlib.sha256((out / f"{i}.dcm").read_bytes()).hexdigest()
                             for i in range(len(entries))]
        report_set = reports_sha256([r.sha256() for r in reports])
        d.deidentify(flow.id, flow.deidentified, profile_id=reports[0].profile_id,
                     profile_version=reports[0].profile_version, report_sha256=report_set)
    flow.run("review")
    flow.run("accept")
    flow.run("store")
    return flow, planted, contact


def _ledger_bytes(fabric, profiles) -> bytes:
    height = channel.height(fabric, fabric.org("imss").peers[0])
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        blocks = list(gw.get_network(regulator.channel).blocks(0, height - 1))
    assert len(blocks) == height
    return b"".join(b.SerializeToString() for b in blocks)


def _secrets(flow, contact: str) -> list[str]:
    d = flow.donor
    return [d.donor_pseudonym, contact, d.salt.hex(), d.qr_token]


def test_no_planted_phi_or_donor_secret_in_any_block(fabric, profiles, donated):
    flow, planted, contact = donated
    assert len(planted) >= 10  # names, CURP, NSS, phones, addresses... were planted
    ledger = _ledger_bytes(fabric, profiles)
    # Positive control: what is meant to be on the ledger is found by the same scan.
    for on_chain in (flow.id, flow.donor.commitment, flow.donor.qr_token_sha256,
                     flow.deidentified[0]):
        assert on_chain.encode() in ledger
    assert leaks(planted, ledger) == []
    assert [s for s in _secrets(flow, contact) if s.encode() in ledger] == []


def test_no_planted_phi_or_donor_secret_in_node_logs(fabric, donated):
    flow, planted, contact = donated
    logs = sorted(fabric.run.rglob("log"))
    assert len(logs) >= 14  # CAs, orderers, peers, contract servers, MinIO
    text = b"".join(p.read_bytes() for p in logs)
    assert leaks(planted, text) == []
    assert [s for s in _secrets(flow, contact) if s.encode() in text] == []
