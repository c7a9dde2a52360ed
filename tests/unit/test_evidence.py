"""Evidence bundles on blocks captured from the (synthetic) test network: build, verify, tamper.

``tests/data/evidence/bundle-9-steps.json`` is the bundle of one happy-path donation (9 steps,
blocks 8-16, genesis config block 0) taken with ``build_bundle`` on the test network; it holds
only random ids, hashes and the test network's certificates.
"""

from __future__ import annotations

import copy
import datetime
import json
import random
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2
from fabric_protos.peer import transaction_pb2

from client.evidence import (
    Bundle,
    block_header_bytes,
    block_header_hash,
    build_bundle,
    data_hash,
    parse_transactions,
)
from client.fabric_msp import MSP
from client.verify_bundle import LABELS, verify_bundle, verify_bundle_command

DATA = Path(__file__).resolve().parents[1] / "data" / "evidence" / "bundle-9-steps.json"


@pytest.fixture
def bundle() -> Bundle:
    return Bundle.load(DATA)


def failed(checks) -> set[tuple[str, str]]:
    return {(c.code, c.subject) for c in checks if not c.ok}


def failed_codes(checks) -> set[str]:
    return {c.code for c in checks if not c.ok}


def tx_subject(bundle: Bundle, step: str) -> str:
    return next(c for c in verify_bundle(bundle) if c.code == "tx.event" and
                c.subject.startswith(step + " ")).subject


def rehash(bundle: Bundle, number: int) -> None:
    """Make block ``number``'s header and the header chain agree with its (edited) data."""
    block = bundle.blocks[number]
    block.header.data_hash = data_hash(block)
    bundle.data_hashes[number - bundle.headers_first] = block.header.data_hash


def edit_action(block: common_pb2.Block, index: int, edit) -> None:
    """Apply ``edit`` to the ChaincodeActionPayload of entry ``index`` and re-serialize."""
    env = common_pb2.Envelope.FromString(block.data.data[index])
    payload = common_pb2.Payload.FromString(env.payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    cap = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
    edit(cap)
    tx.actions[0].payload = cap.SerializeToString()
    payload.data = tx.SerializeToString()
    env.payload = payload.SerializeToString()
    block.data.data[index] = env.SerializeToString()


def new_ca(name: str = "ca.other.example") -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def swap_root_ca(bundle: Bundle, section: str, msp_id: str) -> None:
    """Replace ``msp_id``'s root CA in config block 0 by another CA, hashes recomputed."""
    block = bundle.config_blocks[0]
    env = common_pb2.Envelope.FromString(block.data.data[0])
    payload = common_pb2.Payload.FromString(env.payload)
    config_env = configtx_pb2.ConfigEnvelope.FromString(payload.data)
    value = config_env.config.channel_group.groups[section].groups[msp_id].values["MSP"]
    msp = msp_config_pb2.MSPConfig.FromString(value.value)
    fabric = msp_config_pb2.FabricMSPConfig.FromString(msp.config)
    fabric.root_certs[:] = [new_ca()]
    msp.config = fabric.SerializeToString()
    value.value = msp.SerializeToString()
    payload.data = config_env.SerializeToString()
    env.payload = payload.SerializeToString()
    block.data.data[0] = env.SerializeToString()
    block.header.data_hash = data_hash(block)


# -- hashing rules ----------------------------------------------------------------------

@pytest.mark.parametrize(("number", "der_int"), [
    (0, "020100"), (127, "02017f"), (128, "02020080"), (256, "02020100"),
    (2**64 - 1, "020900ffffffffffffffff"),
])
def test_header_der_is_go_asn1_of_number_previous_and_data_hash(number, der_int):
    prev, data = b"\x01" * 32, b"\x02" * 32
    body = bytes.fromhex(der_int) + b"\x04\x20" + prev + b"\x04\x20" + data
    assert block_header_bytes(number, prev, data) == b"\x30" + bytes([len(body)]) + body


def test_long_header_fields_use_long_form_lengths():
    der = block_header_bytes(1, b"\xaa" * 200, b"")
    assert der[:4] == bytes.fromhex("3081d002")  # body 3 + 203 + 2 = 208 bytes
    assert der[3:9] == bytes.fromhex("0201010481c8")


def test_captured_blocks_link_by_header_hash(bundle):
    numbers = sorted(bundle.blocks)
    for a, b in zip(numbers, numbers[1:], strict=False):
        h = bundle.blocks[a].header
        assert block_header_hash(h.number, h.previous_hash, h.data_hash) == \
            bundle.blocks[b].header.previous_hash
        assert data_hash(bundle.blocks[a]) == h.data_hash


# -- a genuine bundle -------------------------------------------------------------------

def test_captured_bundle_verifies(bundle):
    checks = verify_bundle(bundle)
    assert failed(checks) == set()
    codes = [c.code for c in checks]
    assert codes.count("block.orderer_signature") == 9
    assert codes.count("tx.endorsements") == 9 and codes.count("tx.event") == 9
    assert set(codes) == set(LABELS)
    assert all(c.label_es and c.what for c in checks)
    endorse = {c.subject.split()[0]: c.detail for c in checks if c.code == "tx.endorsements"}
    assert "MAJORITY Endorsement) met" in endorse["Store"]
    assert "HospitalMSP" in endorse["Store"] and "UniversityMSP" in endorse["Store"]
    assert "private data only" in endorse["LinkDonor"]


def test_bundle_round_trips_through_json(bundle):
    text = bundle.dumps()
    again = Bundle.loads(text)
    assert again.dumps() == text
    assert json.loads(text)["objects"]["librarySha256"] == bundle.objects["librarySha256"]
    assert verify_bundle(text) == verify_bundle(bundle)


def test_pinned_config_hash(bundle):
    h = bundle.config_blocks[0].header
    good = block_header_hash(0, h.previous_hash, h.data_hash).hex()
    assert failed(verify_bundle(bundle, config_sha256=good)) == set()
    assert failed(verify_bundle(bundle, config_sha256="00" * 32)) == {
        ("config.block", "config block 0")}


@pytest.mark.parametrize("text", [b"not json", b"[]", b'{"format": "other"}',
                                  b'{"format": "traza-evidence-bundle", "version": 9}',
                                  b'{"format": "traza-evidence-bundle", "version": 1}'])
def test_unreadable_bundle_is_one_failed_check(text):
    checks = verify_bundle(text)
    assert [(c.code, c.ok) for c in checks] == [("bundle.format", False)]


# -- tampering --------------------------------------------------------------------------

def test_flipped_byte_in_block_data_is_caught(bundle):
    raw = bytearray(bundle.blocks[11].data.data[0])
    raw[-40] ^= 1  # inside the envelope signature
    bundle.blocks[11].data.data[0] = bytes(raw)
    assert ("block.data_hash", "block 11") in failed(verify_bundle(bundle))


def test_flipped_byte_in_the_header_chain_is_caught(bundle):
    dh = bytearray(bundle.data_hashes[3])  # block 11's data hash as the chain records it
    dh[0] ^= 1
    bundle.data_hashes[3] = bytes(dh)
    bad = failed(verify_bundle(bundle))
    # Block 11 no longer matches the chain, nor does 12, whose previous hash covers 11.
    assert {("block.chain", "block 11"), ("block.chain", "block 12")} <= bad
    assert ("block.chain", "block 10") not in bad


def test_flipped_byte_in_a_block_header_breaks_link_and_signature(bundle):
    prev = bytearray(bundle.blocks[13].header.previous_hash)
    prev[5] ^= 0x80
    bundle.blocks[13].header.previous_hash = bytes(prev)
    bad = failed(verify_bundle(bundle))
    assert {("block.chain", "block 13"), ("block.orderer_signature", "block 13")} <= bad


def test_forged_endorsement_signature_is_caught_even_with_hashes_recomputed(bundle):
    def flip(cap):
        sig = bytearray(cap.action.endorsements[0].signature)
        sig[10] ^= 1
        cap.action.endorsements[0].signature = bytes(sig)

    edit_action(bundle.blocks[16], 0, flip)
    rehash(bundle, 16)  # last block: no later header betrays it
    checks = verify_bundle(bundle)
    store = next(c.subject for c in checks if c.subject.startswith("Store "))
    bad = failed(checks)
    assert ("tx.endorsements", store) in bad
    assert ("block.data_hash", "block 16") not in bad and ("block.chain", "block 16") not in bad
    assert ("block.orderer_signature", "block 16") in bad  # the orderer signed other bytes


def test_one_endorsement_dropped_fails_the_majority_policy(bundle):
    edit_action(bundle.blocks[16], 0, lambda cap: cap.action.endorsements.pop())
    rehash(bundle, 16)
    checks = verify_bundle(bundle)
    detail = next(c.detail for c in checks if c.code == "tx.endorsements" and
                  c.subject.startswith("Store "))
    assert "NOT met" in detail
    assert ("tx.endorsements", tx_subject(Bundle.load(DATA), "Store")) in failed(checks)


def test_orderer_ca_swapped_fails_every_block_signature(bundle):
    swap_root_ca(bundle, "Orderer", "OrdererMSP")
    bad = failed(verify_bundle(bundle))
    assert {("block.orderer_signature", f"block {n}") for n in range(8, 17)} <= bad
    assert not any(code.startswith("tx.") for code, _ in bad)
    # and the swapped config is not the one the consortium published
    h = Bundle.load(DATA).config_blocks[0].header
    pin = block_header_hash(0, h.previous_hash, h.data_hash).hex()
    assert ("config.block", "config block 0") in failed(verify_bundle(bundle, config_sha256=pin))


def test_member_ca_swapped_fails_its_members(bundle):
    swap_root_ca(bundle, "Application", "HospitalMSP")
    checks = verify_bundle(bundle)
    bad = failed(checks)
    creators = {s for code, s in bad if code == "tx.creator"}
    assert creators and all(not s.startswith(("Deidentify", "Diagnose", "Store")) for s in
                            creators)  # University's and IMSS's submissions still verify
    assert {code for code, _ in bad} >= {"tx.creator", "tx.endorsements"}
    assert not any(code.startswith("block.") for code, _ in bad)


def test_step_dropped_from_the_middle_is_caught(bundle):
    del bundle.steps[3]  # Acquire
    assert "donation.sequence" in failed_codes(verify_bundle(bundle))


def test_block_dropped_fails_its_transaction(bundle):
    del bundle.blocks[12]
    assert ("tx.in_block", tx_subject(Bundle.load(DATA), "Deidentify")) in failed(
        verify_bundle(bundle))


def test_transaction_removed_from_its_block_is_caught(bundle):
    block = bundle.blocks[14]
    del block.data.data[0]
    bad = failed(verify_bundle(bundle))
    assert ("block.data_hash", "block 14") in bad
    assert ("tx.in_block", tx_subject(Bundle.load(DATA), "SubmitForReview")) in bad


@pytest.mark.parametrize("edit", [
    lambda b: b.steps[3]["hashes"]["acquisition.originalSha256"].__setitem__(0, "0" * 64),
    lambda b: b.steps[3].__setitem__("to", "STORED"),
    lambda b: b.steps[3].__setitem__("mspId", "IMSSMSP"),
    lambda b: b.steps[3].__setitem__("block", 12),
])
def test_claim_not_backed_by_the_event_is_caught(bundle, edit):
    edit(bundle)
    assert failed_codes(verify_bundle(bundle)) & {"tx.event", "tx.in_block"}


def test_object_list_not_backed_by_events_is_caught(bundle):
    bundle.objects["librarySha256"].append("1" * 64)
    assert failed_codes(verify_bundle(bundle)) == {"donation.objects"}


def test_bundle_of_another_donation_is_caught(bundle):
    bundle.donation_id = "d-000000000000000000000000"
    assert ("tx.event" in failed_codes(verify_bundle(bundle)))


# -- the CLI ----------------------------------------------------------------------------

def test_cli_prints_each_check_and_exits_0(tmp_path):
    result = CliRunner().invoke(verify_bundle_command, [str(DATA)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "76 of 76 checks passed"
    assert all(line.startswith("[ok] ") for line in lines[:-1])
    es = CliRunner().invoke(verify_bundle_command, ["--es", str(DATA)])
    assert "[ok] bloque firmado por el servicio de ordenamiento: block 8" in es.output


def test_cli_exits_1_on_a_tampered_bundle(tmp_path, bundle):
    bundle.blocks[9].data.data[0] = bundle.blocks[9].data.data[0][:-1] + b"\x00"
    path = tmp_path / "b.json"
    path.write_text(bundle.dumps())
    result = CliRunner().invoke(verify_bundle_command, [str(path)])
    assert result.exit_code == 1
    assert "[FAIL] block data hash: block 9" in result.output
    h = bundle.config_blocks[0].header
    pin = block_header_hash(0, h.previous_hash, h.data_hash).hex()
    result = CliRunner().invoke(verify_bundle_command, ["--config-sha256", pin, str(DATA)])
    assert result.exit_code == 0
    result = CliRunner().invoke(verify_bundle_command, ["--config-sha256", "ab", str(DATA)])
    assert result.exit_code == 2 and "64 hexadecimal digits" in result.output
    (tmp_path / "junk.json").write_text("{")
    result = CliRunner().invoke(verify_bundle_command, [str(tmp_path / "junk.json")])
    assert result.exit_code == 1 and "[FAIL] evidence bundle readable" in result.output


# -- MSP rules --------------------------------------------------------------------------

def _cert(issuer_key, issuer_name, *, subject="user1", ous=("client",), ca=False,
          key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]
                     + [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, o) for o in ous])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now - datetime.timedelta(days=1))  # expired: Fabric ignores it
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))
    return key, cert


def _msp(roots, intermediates=(), crls=()):
    return MSP(name="TestMSP", roots=list(roots), intermediates=list(intermediates), admins=[],
               tls_roots=[], crls=list(crls), node_ous=True,
               ou_names={1: "admin", 2: "client", 3: "peer"})


def test_msp_chains_through_intermediates_and_ignores_expiry():
    root_key, root = _cert(None, None, subject="root", ous=(), ca=True)
    mid_key, mid = _cert(root_key, root.subject, subject="mid", ous=(), ca=True)
    _, user = _cert(mid_key, mid.subject)
    assert _msp([root], [mid]).validate(user) == ""
    assert "does not chain" in _msp([root]).validate(user)
    assert "CA certificate" in _msp([root], [mid]).validate(mid)
    _, other_root = _cert(None, None, subject="root", ous=(), ca=True)  # same name, other key
    assert "does not chain" in _msp([other_root], [mid]).validate(user)


def test_msp_node_ous_and_revocation():
    root_key, root = _cert(None, None, subject="root", ous=(), ca=True)
    _, two = _cert(root_key, root.subject, ous=("client", "peer"))
    assert "2 node OUs" in _msp([root]).validate(two)
    _, peer = _cert(root_key, root.subject, ous=("peer",))
    msp = _msp([root])
    assert msp.validate(peer) == "" and msp.satisfies(peer, 3) and not msp.satisfies(peer, 2)
    now = datetime.datetime.now(datetime.UTC)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
           .last_update(now).next_update(now + datetime.timedelta(days=1))
           .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                    .serial_number(peer.serial_number).revocation_date(now)
                                    .build())
           .sign(root_key, hashes.SHA256()))
    assert "revoked" in _msp([root], crls=[crl]).validate(peer)


# -- building ---------------------------------------------------------------------------

class FakeNetwork:
    """Serves the captured blocks the way Network.blocks and qscc GetBlockByTxID do."""

    name = "donations"

    def __init__(self, bundle: Bundle) -> None:
        self.store = {**bundle.blocks, **bundle.config_blocks}
        self.by_tx = {t.tx_id: n for n, b in bundle.blocks.items()
                      for t in parse_transactions(b)}
        self.asked: list[tuple[int, int, bool]] = []
        self.header_edits: dict[int, bytes] = {}

    @contextmanager
    def blocks(self, start, stop, *, headers_only=False):
        self.asked.append((start, stop, headers_only))
        out = [copy.deepcopy(self.store[n]) for n in range(start, stop + 1)]
        for block in out if headers_only else ():
            del block.data.data[:]  # HEADER_WITH_SIG: header and metadata only
            block.header.data_hash = self.header_edits.get(block.header.number,
                                                           block.header.data_hash)
        yield iter(out)

    def get_contract(self, name):
        assert name == "qscc"
        network = self

        class Qscc:
            def evaluate_transaction(self, fn, channel, tx_id):
                assert (fn, channel) == ("GetBlockByTxID", "donations")
                return network.store[network.by_tx[tx_id]].SerializeToString()

        return Qscc()


def test_build_bundle_from_a_peer_gives_the_captured_bundle(bundle):
    network = FakeNetwork(bundle)
    tx_ids = [s["txId"] for s in bundle.steps]
    built = build_bundle(network, "traza", bundle.donation_id, list(reversed(tx_ids)))
    assert built.dumps() == bundle.dumps()
    # tx blocks by qscc, the chain as headers only, the config block whole
    assert network.asked == [(8, 16, True), (0, 0, False)]
    network = FakeNetwork(bundle)
    by_number = build_bundle(network, "traza", bundle.donation_id,
                             {s["txId"]: s["block"] for s in bundle.steps[2:5]})
    assert network.asked == [(10, 10, False), (11, 11, False), (12, 12, False),
                             (10, 12, True), (0, 0, False)]
    assert sorted(by_number.blocks) == [10, 11, 12]
    assert [s["step"] for s in by_number.steps] == ["Consent", "Acquire", "Deidentify"]
    assert failed_codes(verify_bundle(by_number)) == set()


def test_build_bundle_refuses_what_the_ledger_does_not_say(bundle):
    network = FakeNetwork(bundle)
    tx = bundle.steps[0]["txId"]
    with pytest.raises(ValueError, match="another donation"):
        build_bundle(network, "traza", "d-000000000000000000000000", [tx])
    with pytest.raises(ValueError, match="not in block 9"):
        build_bundle(network, "traza", bundle.donation_id, {tx: 9})
    network.header_edits[9] = b"\x00" * 32  # block 9 is not the one the chain holds
    with pytest.raises(ValueError, match="not the one in the peer's header chain"):
        build_bundle(network, "traza", bundle.donation_id, {bundle.steps[1]["txId"]: 9,
                                                            tx: 8})
    with pytest.raises(ValueError, match="no event of other"):
        build_bundle(network, "other", bundle.donation_id, [tx])
    network.store[8].metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = b"\x0b"
    with pytest.raises(ValueError, match="not VALID"):
        build_bundle(network, "traza", bundle.donation_id, [tx])


def _flip(rng, data: bytes) -> bytes:
    raw = bytearray(data)
    raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return bytes(raw)


def test_random_corruption_never_crashes_and_never_passes():
    """A flipped bit in a block's data, header or orderer signatures is always a failed check.

    (The peer's COMMIT_HASH metadata and the unsigned genesis block's metadata are covered by
    nothing and left out.)
    """
    rng = random.Random(7)
    for _ in range(100):
        bundle = Bundle.load(DATA)
        number = rng.choice([0, *sorted(bundle.blocks)])
        block = bundle.config_blocks[0] if number == 0 else bundle.blocks[number]
        where = rng.choice(["data", "previous_hash", "data_hash", "signatures"])
        if where in ("previous_hash", "signatures") and number == 0:
            where = "data_hash"  # the genesis block has no previous hash and no signatures
        if where == "data":
            i = rng.randrange(len(block.data.data))
            block.data.data[i] = _flip(rng, block.data.data[i])
        elif where == "signatures":
            md = block.metadata.metadata
            md[0] = _flip(rng, md[0])
        else:
            setattr(block.header, where, _flip(rng, getattr(block.header, where)))
        doc = json.loads(bundle.dumps())
        checks = verify_bundle(doc)
        assert any(not c.ok for c in checks), f"a flipped bit in {where} of {number} passed"


# -- blocks under a later config block (a config update) --------------------------------

def _orderer_identity():
    """A new orderer CA and an orderer identity it issued (OU orderer), with its signer."""
    from client.gateway import Signer

    ca_key, ca = _cert(None, None, subject="ca.new-orderer", ous=(), ca=True)
    key, cert = _cert(ca_key, ca.subject, subject="orderer9", ous=("orderer",))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    creator = identities_pb2.SerializedIdentity(mspid="OrdererMSP", id_bytes=pem(cert))
    return pem(ca), creator.SerializeToString(), Signer(key)


def _sign(block: common_pb2.Block, last_config: int, creator: bytes, signer) -> None:
    value = common_pb2.OrdererBlockMetadata(
        last_config=common_pb2.LastConfig(index=last_config),
        consenter_metadata=common_pb2.Metadata().SerializeToString()).SerializeToString()
    header = common_pb2.SignatureHeader(creator=creator, nonce=b"n" * 24).SerializeToString()
    h = block.header
    signature = signer.sign(value + header + block_header_bytes(h.number, h.previous_hash,
                                                                h.data_hash))
    md = common_pb2.Metadata(value=value, signatures=[common_pb2.MetadataSignature(
        signature_header=header, signature=signature)])
    block.metadata.metadata[common_pb2.SIGNATURES] = md.SerializeToString()


def _later_config(bundle: Bundle, number: int):
    """Bundle of blocks 8-11 whose orderer is under config block ``number`` (a new CA)."""
    ca_pem, creator, signer = _orderer_identity()
    config = copy.deepcopy(bundle.config_blocks[0])
    env = common_pb2.Envelope.FromString(config.data.data[0])
    payload = common_pb2.Payload.FromString(env.payload)
    config_env = configtx_pb2.ConfigEnvelope.FromString(payload.data)
    value = config_env.config.channel_group.groups["Orderer"].groups["OrdererMSP"].values["MSP"]
    msp = msp_config_pb2.MSPConfig.FromString(value.value)
    fabric = msp_config_pb2.FabricMSPConfig.FromString(msp.config)
    fabric.root_certs[:] = [ca_pem]
    msp.config = fabric.SerializeToString()
    value.value = msp.SerializeToString()
    payload.data = config_env.SerializeToString()
    env.payload = payload.SerializeToString()
    config.data.data[0] = env.SerializeToString()
    config.header.number, config.header.previous_hash = number, b"\x07" * 32
    config.header.data_hash = data_hash(config)
    _sign(config, number, creator, signer)
    part = build_bundle(FakeNetwork(bundle), "traza", bundle.donation_id,
                        {s["txId"]: s["block"] for s in bundle.steps[:4]})
    for block in part.blocks.values():
        _sign(block, number, creator, signer)
    part.config_blocks = {number: config}
    return part, config


def test_blocks_verify_under_the_later_config_they_name(bundle):
    part, _ = _later_config(bundle, 5)
    checks = verify_bundle(part)
    assert failed(checks) == set()
    details = [c.detail for c in checks if c.code == "block.orderer_signature"]
    assert len(details) == 4 and all("under config block 5" in d for d in details)
    assert "1 of 1 signatures valid" in next(c.detail for c in checks
                                              if c.code == "config.block")


def test_later_config_block_must_be_signed_and_named(bundle):
    part, config = _later_config(bundle, 5)
    config.metadata.metadata[common_pb2.SIGNATURES] = common_pb2.Metadata(
        value=common_pb2.OrdererBlockMetadata().SerializeToString()).SerializeToString()
    assert failed(verify_bundle(part)) == {("config.block", "config block 5")}
    part, _ = _later_config(bundle, 5)
    part.config_blocks[0] = bundle.config_blocks[0]  # the blocks name 5, not the genesis
    del part.config_blocks[5]
    assert {code for code, _ in failed(verify_bundle(part))} >= {"block.orderer_signature"}


def test_config_block_inside_the_header_chain_must_match_it(bundle):
    part, config = _later_config(bundle, 9)  # pretend block 9 (inside 8..11) is the config
    bad = failed(verify_bundle(part))
    assert ("config.block", "config block 9") in bad
