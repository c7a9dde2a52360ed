"""Fabric MSPs and channel policies from a config block, evaluated offline.

What a peer does when it validates a block or a transaction, without a peer: an identity
belongs to an org when its certificate chains to one of the org's root CAs (through its
intermediate CAs), is not revoked by the org's CRLs and, with NodeOUs on, carries exactly
one node OU (client, peer, admin, orderer) — Fabric ``msp/mspimplvalidate.go``. Like
Fabric, validity dates are checked at the certificate's own NotBefore + 1 s, so a block stays
verifiable after its signers' certificates expire. Signatures are ECDSA over SHA-256, DER,
low-S (``bccsp/sw/ecdsa.go``). Policies are ``SignaturePolicyEnvelope`` (n-out-of over MSP
role principals, each signer used once, as ``common/cauthdsl``) and ``ImplicitMetaPolicy``
(ANY / ALL / MAJORITY of the sub-groups' policy, as ``common/policies/implicitmeta.go``).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2, configtx_pb2, policies_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2, msp_principal_pb2

from .gateway.signing import CURVE_ORDERS

__all__ = ["MSP", "ChannelConfig", "SignedData", "verify_signature"]

_ROLE = msp_principal_pb2.MSPRole
_NODE_OUS = {"client": _ROLE.CLIENT, "peer": _ROLE.PEER, "admin": _ROLE.ADMIN,
             "orderer": _ROLE.ORDERER}


def verify_signature(cert: x509.Certificate, signature: bytes, message: bytes) -> str:
    """Return "" if ``signature`` is a valid low-S ECDSA-SHA256 of ``message``, else why not."""
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVE_ORDERS:
        return "the certificate's key is not on P-256 or P-384"
    try:
        _, s = decode_dss_signature(signature)
    except ValueError:
        return "the signature is not DER ECDSA"
    if s > CURVE_ORDERS[key.curve.name] // 2:
        return "the signature is not low-S (Fabric refuses it)"
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the signature does not verify"
    return ""


def _load_certs(pems: Sequence[bytes]) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(p) for p in pems]


def _ous(cert: x509.Certificate) -> set[str]:
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return {str(a.value) for a in ous}


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _valid_at(cert: x509.Certificate, when: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


@dataclass
class MSP:
    """One org's MSP as the channel config defines it (``FabricMSPConfig``)."""

    name: str
    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate]
    admins: list[x509.Certificate]
    tls_roots: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]
    node_ous: bool
    ou_names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, value: bytes) -> MSP:
        """Read an ``MSPConfig`` (the ``MSP`` value of an org's config group)."""
        config = msp_config_pb2.MSPConfig.FromString(value)
        if config.type != 0:
            raise ValueError(f"MSP type {config.type} is not an X.509 (FABRIC) MSP")
        fabric = msp_config_pb2.FabricMSPConfig.FromString(config.config)
        ous = fabric.fabric_node_ous
        names = {}
        for name, role in _NODE_OUS.items():
            ident = getattr(ous, f"{name}_ou_identifier")
            if ident.organizational_unit_identifier:
                names[role] = ident.organizational_unit_identifier
        return cls(
            name=fabric.name,
            roots=_load_certs(fabric.root_certs),
            intermediates=_load_certs(fabric.intermediate_certs),
            admins=_load_certs(fabric.admins),
            tls_roots=_load_certs(fabric.tls_root_certs),
            crls=[x509.load_pem_x509_crl(c) for c in fabric.revocation_list],
            node_ous=ous.enable,
            ou_names=names,
        )

    def fingerprints(self) -> list[str]:
        """SHA-256 of each root CA certificate (DER), hex: what an auditor compares."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return [hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest() for c in self.roots]

    def validate(self, cert: x509.Certificate) -> str:
        """Return "" if ``cert`` is a valid identity of this MSP, else the reason."""
        if _is_ca(cert):
            return "a CA certificate cannot be an identity"
        when = cert.not_valid_before_utc + datetime.timedelta(seconds=1)
        chain = [cert]
        pool = self.intermediates + self.roots
        while chain[-1] not in self.roots:
            issuer = next((c for c in pool if c not in chain and _issued_by(chain[-1], c)), None)
            if issuer is None:
                return f"the certificate does not chain to a root CA of {self.name}"
            chain.append(issuer)
            if len(chain) > 8:
                return "the certificate chain is too long"
        if not all(_valid_at(c, when) for c in chain):
            return "a certificate of the chain was not valid when the identity was issued"
        for child, issuer in zip(chain, chain[1:], strict=False):
            for crl in self.crls:
                if crl.issuer == issuer.subject and crl.is_signature_valid(issuer.public_key()) \
                        and crl.get_revoked_certificate_by_serial_number(child.serial_number):
                    return f"the certificate is revoked by {self.name}"
        if self.node_ous:
            roles = [r for r, ou in self.ou_names.items() if ou in _ous(cert)]
            if len(roles) != 1:
                return f"the certificate has {len(roles)} node OUs of {self.name}, not 1"
        return ""

    def satisfies(self, cert: x509.Certificate, role: int) -> bool:
        """Whether valid identity ``cert`` holds MSP role ``role`` (an ``MSPRole`` value)."""
        if role == _ROLE.MEMBER:
            return True
        if role == _ROLE.ADMIN and cert in self.admins:
            return True
        return self.node_ous and self.ou_names.get(role, "\0") in _ous(cert)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject or not _is_ca(issuer):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class SignedData:
    """A signature over ``data`` by the serialized identity ``identity`` (creator bytes)."""

    identity: bytes
    data: bytes
    signature: bytes


@dataclass
class Signer:
    """A signed data entry whose signature verified, with the identity's MSP."""

    msp_id: str
    cert: x509.Certificate


class ChannelConfig:
    """A channel's config (``common.Config``) from its config block: MSPs and policies."""

    def __init__(self, block: common_pb2.Block) -> None:
        if len(block.data.data) != 1:
            raise ValueError(f"block {block.header.number} is not a config block")
        envelope = common_pb2.Envelope.FromString(block.data.data[0])
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        if header.type != common_pb2.CONFIG:
            raise ValueError(f"block {block.header.number} is not a config block")
        self.channel = header.channel_id
        self.number = block.header.number
        self.root = configtx_pb2.ConfigEnvelope.FromString(payload.data).config.channel_group
        self.msps: dict[str, MSP] = {}
        for section in ("Orderer", "Application"):
            for org in self.root.groups[section].groups.values():
                msp = MSP.from_config(org.values["MSP"].value)
                self.msps[msp.name] = msp
        self._cache: dict[bytes, tuple[str, x509.Certificate | None, str]] = {}

    def orgs(self, section: str) -> list[str]:
        """MSP ids of the orgs in ``section`` ("Orderer" or "Application")."""
        return sorted(MSP.from_config(org.values["MSP"].value).name
                      for org in self.root.groups[section].groups.values())

    def identity(self, serialized: bytes) -> tuple[str, x509.Certificate | None, str]:
        """Return (MSP id, certificate, "" or why it is not a valid member) for creator bytes."""
        if serialized not in self._cache:
            self._cache[serialized] = self._identity(serialized)
        return self._cache[serialized]

    def _identity(self, serialized: bytes) -> tuple[str, x509.Certificate | None, str]:
        try:
            ident = identities_pb2.SerializedIdentity.FromString(serialized)
            cert = x509.load_pem_x509_certificate(ident.id_bytes)
        except ValueError as exc:
            return "", None, f"not a serialized X.509 identity: {exc}"
        msp = self.msps.get(ident.mspid)
        if msp is None:
            return ident.mspid, cert, f"{ident.mspid} is not an org of the channel config"
        try:
            return ident.mspid, cert, msp.validate(cert)
        except ValueError as exc:  # a certificate extension that does not parse
            return ident.mspid, cert, f"the certificate does not parse: {exc}"

    def signers(self, signed: Sequence[SignedData]) -> tuple[list[Signer], list[str]]:
        """Valid signers of ``signed`` (one per identity) and the reasons others failed."""
        out: list[Signer] = []
        errors: list[str] = []
        seen: set[bytes] = set()
        for item in signed:
            msp_id, cert, why = self.identity(item.identity)
            if not why and cert is not None:
                why = verify_signature(cert, item.signature, item.data)
            if why:
                errors.append(f"{msp_id or '?'}: {why}")
            elif item.identity not in seen:
                seen.add(item.identity)
                out.append(Signer(msp_id, cert))
        return out, errors

    def describe(self, path: str) -> str:
        """The policy at ``/Channel/.../<name>`` in words, e.g. ``MAJORITY Endorsement``."""
        policy = self._group(path).policies[path.rsplit("/", 1)[-1]].policy
        if policy.type == policies_pb2.Policy.IMPLICIT_META:
            meta = policies_pb2.ImplicitMetaPolicy.FromString(policy.value)
            return f"{policies_pb2.ImplicitMetaPolicy.Rule.Name(meta.rule)} {meta.sub_policy}"
        return policies_pb2.Policy.PolicyType.Name(policy.type)

    def _group(self, path: str) -> configtx_pb2.ConfigGroup:
        parts = path.strip("/").split("/")
        if parts[0] != "Channel":
            raise ValueError(f"policy path {path} must start with /Channel")
        group = self.root
        for name in parts[1:-1]:
            group = group.groups[name]
        return group

    def evaluate(self, path: str, signers: Sequence[Signer]) -> bool:
        """Whether ``signers`` (already verified) satisfy the policy at ``path``."""
        return self._evaluate(self._group(path), path.rsplit("/", 1)[-1], signers)

    def _evaluate(self, group: configtx_pb2.ConfigGroup, name: str,
                  signers: Sequence[Signer]) -> bool:
        if name not in group.policies:
            return False
        policy = group.policies[name].policy
        if policy.type == policies_pb2.Policy.IMPLICIT_META:
            meta = policies_pb2.ImplicitMetaPolicy.FromString(policy.value)
            subs = [self._evaluate(g, meta.sub_policy, signers) for g in group.groups.values()]
            need = {policies_pb2.ImplicitMetaPolicy.ANY: 1,
                    policies_pb2.ImplicitMetaPolicy.ALL: len(subs),
                    policies_pb2.ImplicitMetaPolicy.MAJORITY: len(subs) // 2 + 1}[meta.rule]
            return sum(subs) >= need
        if policy.type == policies_pb2.Policy.SIGNATURE:
            envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
            principals = []
            for p in envelope.identities:
                if p.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
                    principals.append(None)  # OU and identity principals: not used by Traza
                    continue
                principals.append(_ROLE.FromString(p.principal))
            return self._signature_rule(envelope.rule, principals, signers,
                                        [False] * len(signers))
        return False

    def _signature_rule(self, rule: policies_pb2.SignaturePolicy, principals: list,
                        signers: Sequence[Signer], used: list[bool]) -> bool:
        if rule.WhichOneof("Type") == "signed_by":
            principal = principals[rule.signed_by]
            if principal is None:
                return False
            for i, signer in enumerate(signers):
                if used[i] or signer.msp_id != principal.msp_identifier:
                    continue
                if self.msps[signer.msp_id].satisfies(signer.cert, principal.role):
                    used[i] = True
                    return True
            return False
        verified = 0
        for sub in rule.n_out_of.rules:
            trial = list(used)
            if self._signature_rule(sub, principals, signers, trial):
                verified += 1
                used[:] = trial
        return verified >= rule.n_out_of.n
