"""Evidence bundles on the real network: a donation of 12 steps, bundled through a regulator's
peer, verified with every socket closed, tampering caught, no donor secret inside."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from client.evidence import Bundle, build_bundle
from client.verify_bundle import verify_bundle, verify_bundle_command

from .donation_flow import Flow, wait_state

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]

# The happy path with one round of changes: 12 steps, every org and role.
STEPS = [("register", None, "operator1"), ("link", None, "operator1"),
         ("consent", None, "operator1"), ("acquire", None, "operator1"),
         ("deidentify", "university", "service1"), ("diagnose", "imss", "clinician1"),
         ("review", None, "service1"), ("changes", None, "service1"),
         ("deidentify", "university", "service1"), ("review", None, "service1"),
         ("accept", None, "service1"), ("store", None, "service1")]


@pytest.fixture(scope="module")
def donation(as_):
    flow = Flow(as_)
    blocks = {}
    for step, org, user in STEPS:
        result = flow.run(step, org, user)
        blocks[result.transaction_id] = result.block_number
    wait_state(as_, "imss", flow.id, "STORED")  # the regulator reads through IMSS's peer
    return flow, blocks


@pytest.fixture(scope="module")
def bundle_text(profiles, donation):
    flow, blocks = donation
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        network = gw.get_network(regulator.channel)
        started = time.perf_counter()
        bundle = build_bundle(network, regulator.chaincode, flow.id, list(blocks))
        BUILD_SECONDS.append(time.perf_counter() - started)
    return bundle.dumps()


BUILD_SECONDS: list[float] = []


@pytest.fixture
def offline(monkeypatch):
    """No Python socket may connect while the bundle is verified (gRPC's own sockets are not
    Python's: the subprocess test below runs the CLI with no network at all)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the verifier tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_bundle_of_a_donation_verifies_offline(donation, bundle_text, offline, capsys):
    flow, blocks = donation
    started = time.perf_counter()
    checks = verify_bundle(bundle_text)
    elapsed = time.perf_counter() - started
    assert [c for c in checks if not c.ok] == []
    doc = json.loads(bundle_text)
    assert [s["txId"] for s in doc["steps"]] == list(blocks)
    assert [s["step"] for s in doc["steps"]] == [
        "RegisterDonation", "LinkDonor", "Consent", "Acquire", "Deidentify", "Diagnose",
        "SubmitForReview", "RequestChanges", "Deidentify", "SubmitForReview", "Accept", "Store"]
    assert doc["objects"]["originalSha256"] == flow.originals
    assert doc["objects"]["librarySha256"] == flow.deidentified
    creators = {c.subject.split()[0]: c.detail for c in checks if c.code == "tx.creator"}
    assert creators["Diagnose"].startswith("IMSSMSP member")
    assert creators["Store"].startswith("HospitalMSP member")  # the intake org alone
    endorsers = {c.subject.split()[0]: c.detail for c in checks if c.code == "tx.endorsements"}
    assert "private data only" in endorsers["LinkDonor"]
    assert all("MAJORITY Endorsement) met" in d for s, d in endorsers.items() if s != "LinkDonor")
    with capsys.disabled():
        print(f"\n[evidence] 12 steps in {len(doc['blocks'])} blocks, headers "
              f"{len(doc['headers']['dataHashes'])}: built in {BUILD_SECONDS[0] * 1000:.0f} ms, "
              f"bundle {len(bundle_text)} bytes, "
              f"{len(checks)} checks verified in {elapsed * 1000:.0f} ms")
    assert elapsed < 5


def test_bundle_from_history_tx_ids(profiles, donation):
    flow, blocks = donation
    regulator = profiles("imss", "regulator1")
    with regulator.contract() as contract:
        history = json.loads(contract.evaluate_transaction("GetHistory", flow.id))
    tx_ids = [h["txId"] for h in reversed(history)]  # oldest first; LinkDonor is not there
    with regulator.gateway() as gw:
        bundle = build_bundle(gw.get_network(regulator.channel), "traza", flow.id, tx_ids)
    assert [s["txId"] for s in bundle.steps] == tx_ids
    checks = verify_bundle(bundle)
    # Without LinkDonor the sequence still holds: it leaves the state unchanged.
    assert [c for c in checks if not c.ok] == []


def test_peer_serves_headers_only(profiles, donation):
    _, blocks = donation
    first, last = min(blocks.values()), max(blocks.values())
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        network = gw.get_network(regulator.channel)
        with network.blocks(first, last, headers_only=True) as stream:
            headers = list(stream)
        with network.blocks(last, last) as stream:
            whole = next(iter(stream))
    assert [b.header.number for b in headers] == list(range(first, last + 1))
    assert all(not b.data.data for b in headers)
    assert headers[-1].header == whole.header and headers[-1].metadata == whole.metadata


def test_tampering_with_a_real_bundle_is_caught(bundle_text, offline):
    bundle = Bundle.loads(bundle_text)
    number = sorted(bundle.blocks)[4]
    raw = bytearray(bundle.blocks[number].data.data[0])
    raw[len(raw) // 2] ^= 1
    bundle.blocks[number].data.data[0] = bytes(raw)
    bad = {(c.code, c.subject) for c in verify_bundle(bundle) if not c.ok}
    assert ("block.data_hash", f"block {number}") in bad

    bundle = Bundle.loads(bundle_text)
    del bundle.steps[5]
    assert "donation.sequence" in {c.code for c in verify_bundle(bundle) if not c.ok}


def test_bundle_holds_no_donor_secret(donation, bundle_text):
    flow, _ = donation
    doc = json.loads(bundle_text)
    raw = bundle_text.encode() + b"".join(
        base64.b64decode(b["block"]) for b in doc["blocks"] + doc["configBlocks"])
    donor = flow.donor
    for secret in (donor.donor_pseudonym, donor.salt.hex(), donor.qr_token):
        assert secret.encode() not in raw
    assert flow.id.encode() in raw and donor.commitment.encode() in raw  # the scan can see


def test_cli_verifies_the_downloaded_file(bundle_text, tmp_path, offline):
    path = tmp_path / "evidencia.json"
    path.write_text(bundle_text)
    result = CliRunner().invoke(verify_bundle_command, ["--es", str(path)])
    assert result.exit_code == 0, result.output
    assert "[FAIL]" not in result.output and "[ok] transacción dentro de su bloque" in result.output


def test_block_shared_with_another_donation(as_, profiles):
    """Two donations registered at once usually share a block; each bundle still verifies."""
    from concurrent.futures import ThreadPoolExecutor

    def register(org: str):
        flow = Flow(as_, intake=org)
        return flow, flow.run("register", org, "operator1")

    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(register, ["hospital", "university"]))
        if results[0][1].block_number == results[1][1].block_number:
            break
    else:
        pytest.skip("the two registrations never landed in one block")
    (flow, step), (other, other_step) = results
    wait_state(as_, "imss", flow.id, "REGISTERED")
    wait_state(as_, "imss", other.id, "REGISTERED")
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        bundle = build_bundle(gw.get_network(regulator.channel), "traza", flow.id,
                              {step.transaction_id: step.block_number})
    block = bundle.blocks[step.block_number]
    assert len(block.data.data) >= 2
    checks = verify_bundle(bundle)
    assert [c for c in checks if not c.ok] == []
    # The other donation's transaction is in the block, but the bundle claims only this one.
    assert [s["txId"] for s in bundle.steps] == [step.transaction_id]
    bundle.steps[0]["txId"] = other_step.transaction_id
    assert "tx.event" in {c.code for c in verify_bundle(bundle) if not c.ok}


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare (util-linux)")
def test_cli_in_a_process_without_any_network(bundle_text, tmp_path):
    """``traza verify bundle`` in a network namespace of its own: no interface, no peer."""
    path = tmp_path / "evidencia.json"
    path.write_text(bundle_text)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode:
        pytest.skip("unshare -n is not permitted here")
    code = ("import sys; from client.verify_bundle import verify_bundle_command; "
            "verify_bundle_command(sys.argv[1:])")
    run = subprocess.run(["unshare", "-n", sys.executable, "-c", code, str(path)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "100 of 100 checks passed"
    path.write_text(bundle_text.replace('"LinkDonor"', '"Consent"', 1))
    run = subprocess.run(["unshare", "-n", sys.executable, "-c", code, str(path)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 1 and "[FAIL] step evidence in the event" in run.stdout
