"""A DICOM Storage SCP (C-STORE, C-ECHO) per intake org: studies pushed from a hospital PACS.

The hospital's PACS (the SCU) opens an association to this SCP's AE title and sends a study.
A study is accepted only when it was registered beforehand for an open donation
(:meth:`client.pacs_steps.PacsSteps.expect_study`); each instance is staged encrypted in
MinIO before Success is answered (nothing is written to disk in plaintext: instances stay in
memory), and when the association is released the pipeline records one Acquire step per
donation it received (:meth:`~client.pacs_steps.PacsSteps.record_received`).

DIMSE statuses of a refused C-STORE (PS3.4 B.2.3, PS3.7 C):

- ``0x0124`` *Refused: Not Authorized*: the study is not expected for any open donation
  (or was received already). The sender is not allowed to put that study here; it is not a
  resource or format problem, so an SCU does not retry it as it would ``0xA7xx``.
- ``0xA700`` *Refused: Out of Resources*: the association's instance or byte limit, or an
  instance over the size limit. The SCU may send the rest in another association.
- ``0xC000`` *Error: Cannot Understand*: the data set cannot be decoded or has no Study
  Instance UID.
- ``0xA701`` *Refused: Out of Resources* (unable to store): staging failed (MinIO or SQL down).

Limits (:class:`PacsSettings`): associations at once, maximum PDU, instances and bytes per
association, ACSE/DIMSE/network timeouts; the called AE title must be this SCP's and the
calling AE title may be restricted to a list. TLS (PS3.15 Annex B, the BCP 195 profile):
TLS 1.2 or later, this SCP's certificate and key from files, and the hospital's certificate
required and verified against a CA file.

pynetdicom logs AE titles and, at debug level, data set contents: its logger is kept at
WARNING; this module logs counts and donation ids only.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from .donations import Source

log = logging.getLogger("traza.pacs")
logging.getLogger("pynetdicom").setLevel(logging.WARNING)

SUCCESS = 0x0000
NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
CANNOT_STORE = 0xA701
CANNOT_UNDERSTAND = 0xC000
DICOM_PORT = 11112  # IANA "dicom"; 2762 is "dicom-tls"


@dataclass(frozen=True)
class TLSFiles:
    """PEM files of DICOM over TLS: this SCP's certificate and key, the CA of the SCUs."""

    cert: Path
    key: Path
    ca: Path

    def context(self) -> ssl.SSLContext:
        """A server context: TLS 1.2+, client certificates required (PS3.15 B.9, BCP 195)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


@dataclass(frozen=True)
class PacsSettings:
    """Where the SCP listens and what it allows."""

    ae_title: str = "TRAZA"
    host: str = "127.0.0.1"
    port: int = DICOM_PORT
    calling_ae_titles: tuple[str, ...] = ()  # empty: any calling AE title
    max_associations: int = 4
    max_pdu: int = 262_144
    max_instances: int = 5_000  # per association
    max_bytes: int = 2 * 1024**3  # per association
    max_instance_bytes: int = 512 * 1024**2
    acse_timeout: float = 30
    dimse_timeout: float = 60
    network_timeout: float = 60
    tls: TLSFiles | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.ae_title) <= 16 or "\\" in self.ae_title:
            raise ValueError("an AE title has 1 to 16 characters and no backslash")


class Intake(Protocol):
    """What the SCP needs of the pipeline (:class:`client.workflow.Pipeline` has it)."""

    def expected_donation(self, study_uid: str) -> tuple[str, Source] | None: ...
    def stage_received(self, donation_id: str, instances: list[bytes]) -> None: ...
    def record_received(self, donation_id: str) -> list[str]: ...


@dataclass
class Transfer:
    """What one association has sent so far."""

    instances: int = 0
    bytes: int = 0
    donations: set[str] = field(default_factory=set)


class StoreSCP:
    """The Storage SCP of one intake org over ``pipeline``.

    Parameters
    ----------
    pipeline : Intake
        The intake org's pipeline (its methods are called from association threads; one
        lock keeps them one at a time, as the pipeline's SQL and ledger are).
    settings : PacsSettings
    on_acquired : callable, optional
        ``on_acquired(donation_id, hashes)`` after each Acquire step (progress, tests).
    """

    def __init__(self, pipeline: Intake, settings: PacsSettings, *,
                 on_acquired: Callable[[str, list[str]], None] | None = None) -> None:
        self.pipeline, self.settings, self.on_acquired = pipeline, settings, on_acquired
        self._transfers: dict[int, Transfer] = {}
        self._lock = threading.Lock()
        self._pipeline_lock = threading.Lock()
        self._server: Any = None
        self.errors: list[str] = []

    def _ae(self) -> AE:
        s = self.settings
        ae = AE(ae_title=s.ae_title)
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        ae.maximum_associations = s.max_associations
        ae.maximum_pdu_size = s.max_pdu
        ae.acse_timeout, ae.dimse_timeout = s.acse_timeout, s.dimse_timeout
        ae.network_timeout = s.network_timeout
        ae.require_called_aet = True
        ae.require_calling_aet = list(s.calling_ae_titles)
        return ae

    # -- handlers ----------------------------------------------------------------------

    def _transfer(self, event: Any) -> Transfer:
        with self._lock:
            return self._transfers.setdefault(id(event.assoc), Transfer())

    def _on_echo(self, event: Any) -> int:
        return SUCCESS

    def receive(self, t: Transfer, data: Callable[[], bytes], size: int,
                study_uid: Callable[[], str]) -> int:
        """One instance of transfer ``t`` (an association, a STOW-RS request): its status.

        ``data`` gives the Part 10 bytes and ``study_uid`` its Study Instance UID (both
        called only once the limits pass).
        """
        s = self.settings
        if size > s.max_instance_bytes or t.instances + 1 > s.max_instances or (
                t.bytes + size > s.max_bytes):
            return OUT_OF_RESOURCES
        try:
            uid = study_uid()
        except Exception:  # pydicom raises several types for a broken data set
            return CANNOT_UNDERSTAND
        with self._pipeline_lock:
            found = self.pipeline.expected_donation(uid)
            if found is None:
                log.info("instance refused: study not expected (0x0124)")
                return NOT_AUTHORIZED
            donation_id, _source = found
            try:
                self.pipeline.stage_received(donation_id, [data()])
            except Exception as e:  # MinIO or SQL down: the sender keeps the instance
                log.error("staging for %s failed: %s", donation_id, type(e).__name__)
                self.errors.append(f"{donation_id}: staging: {type(e).__name__}")
                return CANNOT_STORE
        t.instances += 1
        t.bytes += size
        t.donations.add(donation_id)
        return SUCCESS

    def finish(self, t: Transfer | None) -> None:
        """The transfer is complete: one Acquire step per donation it staged for."""
        for donation_id in sorted(t.donations if t else ()):
            try:
                with self._pipeline_lock:
                    hashes = self.pipeline.record_received(donation_id)
            except Exception as e:  # the instances stay staged; the operator sees it
                log.error("Acquire of %s failed: %s", donation_id, type(e).__name__)
                self.errors.append(f"{donation_id}: Acquire: {type(e).__name__}: {e}")
                continue
            log.info("Acquire of %s: %d instances", donation_id, len(hashes))
            if self.on_acquired:
                self.on_acquired(donation_id, hashes)

    def _on_store(self, event: Any) -> int:
        return self.receive(self._transfer(event), event.encoded_dataset,
                            len(event.request.DataSet.getvalue()),
                            lambda: str(event.dataset.StudyInstanceUID))

    def _on_released(self, event: Any) -> None:
        with self._lock:
            t = self._transfers.pop(id(event.assoc), None)
        self.finish(t)

    def _on_aborted(self, event: Any) -> None:
        # An aborted push records nothing: what was staged waits for the next association
        # (or is deleted with the donation); the hospital resends.
        with self._lock:
            self._transfers.pop(id(event.assoc), None)

    # -- serving -----------------------------------------------------------------------

    def start(self) -> StoreSCP:
        """Listen in background threads; returns self (use :meth:`stop`)."""
        s = self.settings
        handlers = [(evt.EVT_C_ECHO, self._on_echo), (evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_RELEASED, self._on_released), (evt.EVT_ABORTED, self._on_aborted)]
        self._server = self._ae().start_server(
            (s.host, s.port), block=False, evt_handlers=handlers,
            ssl_context=s.tls.context() if s.tls else None)
        return self

    def stop(self) -> None:
        """Stop listening and close open associations."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def serve_forever(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (Ctrl-C in the CLI sets it)."""
        self.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> StoreSCP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["CANNOT_STORE", "CANNOT_UNDERSTAND", "NOT_AUTHORIZED", "OUT_OF_RESOURCES",
           "SUCCESS", "PacsSettings", "StoreSCP", "TLSFiles"]
