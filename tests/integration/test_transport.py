"""Issue 11 (1): every peer, orderer and operations endpoint requires mutual TLS; MinIO HTTPS only.

Each endpoint is probed at the TLS layer with a raw client: after the handshake the client
sends the HTTP/2 preface and reads. A server that accepted the client's certificate
answers (a SETTINGS frame, or an HTTP error page); one that refused it sends a TLS alert or
closes. Each refusal has its accepted twin, so a probe that always "refuses" fails a test.
"""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from client.gateway import GatewayError
from network import ca, minio, ready
from network.ca import node_dir, tls_ca, user_dir

from .helpers import throwaway_tls

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
Pair = tuple[Path, Path] | None


def accepted(host: str, port: int, ca_file: Path, pair: Pair, server_name: str) -> bool:
    """True if the TLS server on host:port accepts a client showing ``pair`` (or none)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False  # the chain is checked; names are not what is tested
    context.set_alpn_protocols(["h2"])  # newer gRPC servers refuse a client without it
    if pair:
        context.load_cert_chain(*pair)
    with socket.create_connection((host, port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                tls.sendall(PREFACE)
                return bool(tls.recv(1))
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return False


def tls_pair(folder: Path) -> tuple[Path, Path]:
    return folder / "tls" / "server.crt", folder / "tls" / "server.key"


@pytest.fixture(scope="module")
def rogue(tmp_path_factory) -> tuple[Path, Path]:
    """A client pair from a CA of nobody's: no endpoint may accept it."""
    folder = tmp_path_factory.mktemp("rogue")
    crt, key = folder / "client.crt", folder / "client.key"
    throwaway_tls(folder / "ca.pem", crt, key, name="admin.university.traza.local", hosts=[])
    return crt, key


def test_peers_refuse_clients_without_a_certificate_or_from_a_foreign_ca(fabric, rogue):
    for peer in fabric.peers:
        root = tls_ca(fabric, peer.org)
        own = tls_pair(user_dir(fabric, peer.org, "service1"))
        other_org = next(o for o in fabric.orgs if o is not peer.org)
        other = tls_pair(user_dir(fabric, other_org, "service1"))
        assert not accepted(peer.host, peer.port, root, None, peer.fqdn), peer.node_id
        assert not accepted(peer.host, peer.port, root, rogue, peer.fqdn), peer.node_id
        assert accepted(peer.host, peer.port, root, own, peer.fqdn), peer.node_id
        # Other orgs' peers connect for gossip and endorsement: the consortium's TLS CAs pass.
        assert accepted(peer.host, peer.port, root, other, peer.fqdn), peer.node_id
        # The chaincode listener takes only certificates of the peer's own in-memory CA
        # (with CCaaS nothing connects there): the very pair accepted above is refused.
        for pair in (None, own):
            assert not accepted(peer.host, peer.chaincode_port, root, pair, peer.fqdn), peer.node_id


def test_orderers_refuse_clients_without_a_certificate_or_from_a_foreign_ca(fabric, rogue):
    peer_pair = tls_pair(node_dir(fabric, fabric.peers[0].node_id))
    for o in fabric.orderers:
        root = tls_ca(fabric, o.org)
        assert not accepted(o.host, o.port, root, None, o.fqdn), o.name
        assert not accepted(o.host, o.port, root, rogue, o.fqdn), o.name
        assert accepted(o.host, o.port, root, peer_pair, o.fqdn), o.name


def test_orderer_admin_endpoint_takes_only_the_orderer_orgs_tls_ca(fabric):
    app_admin = tls_pair(user_dir(fabric, fabric.orgs[0], "admin"))
    orderer_admin = tls_pair(user_dir(fabric, fabric.orderer_org, "admin"))
    for o in fabric.orderers:
        root = tls_ca(fabric, o.org)
        assert not accepted(o.host, o.admin_port, root, None, o.fqdn), o.name
        assert not accepted(o.host, o.admin_port, root, app_admin, o.fqdn), o.name
        assert accepted(o.host, o.admin_port, root, orderer_admin, o.fqdn), o.name


def _plain_http_refused(host: str, port: int, path: str) -> None:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=3):  # noqa: S310
            pytest.fail(f"{host}:{port} answered plain HTTP")
    except urllib.error.HTTPError as e:
        assert e.code == 400  # Go's TLS server: "Client sent an HTTP request to an HTTPS server"
    except (urllib.error.URLError, ConnectionError):
        pass


def test_operations_endpoints_need_tls_and_a_client_of_their_own_org(fabric):
    nodes = [(p.org, p.host, p.operations_port, p.fqdn) for p in fabric.peers]
    nodes += [(o.org, o.host, o.operations_port, o.fqdn) for o in fabric.orderers]
    for org, host, port, name in nodes:
        root = tls_ca(fabric, org)
        other_org = next(o for o in fabric.all_orgs if o is not org)
        assert not accepted(host, port, root, None, name), name
        assert not accepted(host, port, root, tls_pair(user_dir(fabric, other_org, "admin")),
                            name), name
        assert accepted(host, port, root, tls_pair(user_dir(fabric, org, "admin")), name), name
        _plain_http_refused(host, port, "/healthz")
        assert b'"status":"OK"' in ready.operations_get(fabric, org, host, port, "/healthz")


def test_chaincode_servers_take_only_their_own_orgs_peer(fabric):
    for org in fabric.orgs:
        srv = org.chaincode_server
        other = next(o for o in fabric.orgs if o is not org)
        root = tls_ca(fabric, org)
        own_peer = tls_pair(node_dir(fabric, org.peers[0].node_id))
        other_peer = tls_pair(node_dir(fabric, other.peers[0].node_id))
        assert not accepted(srv.host, srv.port, root, None, "chaincode"), org.key
        assert not accepted(srv.host, srv.port, root, other_peer, "chaincode"), org.key
        assert accepted(srv.host, srv.port, root, own_peer, "chaincode"), org.key


def test_the_python_gateway_client_presents_its_orgs_tls_pair(profiles):
    profile = profiles("hospital", "service1")
    assert profile.tls_cert and profile.tls_key
    with profile.contract() as contract:
        contract.evaluate_transaction("Heartbeat", f"hb-{uuid.uuid4().hex}")
    without = replace(profile, tls_cert=None, tls_key=None)
    with pytest.raises(GatewayError), without.contract() as contract:
        contract.evaluate_transaction("Heartbeat", f"hb-{uuid.uuid4().hex}")


def test_minio_refuses_plain_http_and_serves_https_with_its_own_certificate(fabric):
    m = fabric.minio
    _plain_http_refused(m.host, m.port, "/minio/health/live")
    assert minio.healthy(fabric)
    served = ssl.get_server_certificate((m.host, m.port))
    cert = x509.load_pem_x509_certificate(served.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert minio.fqdn(fabric) in sans.get_values_for_type(x509.DNSName)
    issuer = x509.load_pem_x509_certificate(minio.ca_file(fabric).read_bytes())
    assert cert.issuer == issuer.subject


def raw(cert: x509.Certificate) -> bytes:
    """The certificate's public key, DER."""
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def test_tls_certificates_come_from_a_tls_ca_apart_from_the_signing_ca(fabric):
    for org in fabric.all_orgs:
        signing = x509.load_pem_x509_certificate(ca.ca_cert(fabric, org).read_bytes())
        tls_root = x509.load_pem_x509_certificate(tls_ca(fabric, org).read_bytes())
        assert tls_root.subject != signing.subject
        assert raw(tls_root) != raw(signing)
        admin = user_dir(fabric, org, "admin")
        tls_cert = x509.load_pem_x509_certificate((admin / "tls" / "server.crt").read_bytes())
        sign_cert = x509.load_pem_x509_certificate(
            (admin / "msp" / "signcerts" / "cert.pem").read_bytes())
        assert tls_cert.issuer == tls_root.subject
        assert sign_cert.issuer == signing.subject
        # A TLS key is not a signing key: the two enrollments have separate keys.
        assert raw(tls_cert) != raw(sign_cert)
