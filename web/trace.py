"""The trace viewer: ``/t/<token>`` (a donation's steps) and its evidence bundle.

The QR carries a random capability token; the index holds only its SHA-256. The token is
never logged (logs carry ``sha256(token)[:16]``) and an unknown or malformed token gets
the same plain 404 page, so the page tells nothing about which tokens exist.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, g, render_template
from sqlalchemy import select

from anonymizer.report import summary_es
from client.db.models import DeidSummary, DonationIndex, StepIndex
from client.donor import sha256_hex
from client.evidence import step_claim

from . import audit
from .i18n import STATE_NAMES, STEP_NAMES
from .verify import Verification, verify

__all__ = ["Bundler", "StepView", "bp", "token_ref"]

log = logging.getLogger("traza.web")
bp = Blueprint("trace", __name__)
# secrets.token_urlsafe output, as client.qr accepts it.
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")
# (donation id, {tx id: block}) -> the bundle as JSON; raises on any failure.
HIDDEN_HASHES = ("qrTokenSha256",)
Bundler = Callable[[str, Mapping[str, int]], dict[str, Any]]


def token_ref(token: str) -> str:
    """What logs may carry about a token: the first 16 hex digits of its SHA-256."""
    return sha256_hex(token)[:16]


@dataclass(frozen=True)
class StepView:
    """One step as the page shows it."""

    name: str
    code: str
    when: dt.datetime
    msp: str
    executor: str
    transaction_id: str
    block_number: int
    chaincode: str
    chaincode_version: str
    package_id: str
    hashes: dict[str, list[str]]
    deid_summary: str | None = None  # plain Spanish, counts only (Deidentify steps)
    deid_files: int = 0


def _donation(token: str) -> DonationIndex:
    if not TOKEN.fullmatch(token):
        log.info("trace: malformed token")
        abort(404)
    row = g.db.scalars(select(DonationIndex).where(
        DonationIndex.qr_token_sha256 == sha256_hex(token))).first()
    if row is None:
        log.info("trace: unknown token %s", token_ref(token))
        abort(404)
    return row


def _steps(donation_id: str) -> list[StepIndex]:
    return list(g.db.scalars(select(StepIndex).where(StepIndex.donation_id == donation_id)
                             .order_by(StepIndex.block_number, StepIndex.id)))


def _hashes(evidence: str, block: int) -> dict[str, list[str]]:
    try:
        doc = json.loads(evidence)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    # The QR token's hash is no object's fingerprint, and the page has no need to echo it.
    return {path: values for path, values in step_claim(doc, block)["hashes"].items()
            if not path.endswith(HIDDEN_HASHES)}


def _summaries(donation_id: str) -> dict[str, DeidSummary]:
    rows = g.db.scalars(select(DeidSummary).where(DeidSummary.donation_id == donation_id))
    return {r.report_sha256: r for r in rows}


def _deid(row: StepIndex, summaries: Mapping[str, DeidSummary]) -> tuple[str | None, int]:
    """The Spanish summary of a Deidentify step, found by its ledger ``reportSha256``."""
    if row.step != "Deidentify":
        return None, 0
    try:
        report = json.loads(row.evidence)["data"]["deidentification"]["reportSha256"]
    except (ValueError, KeyError, TypeError):
        return None, 0
    found = summaries.get(report)
    if found is None:
        return None, 0
    counts = found.counts_json
    return summary_es(counts, pixel_checked=bool(counts.get("pixel_checked"))), found.files


def _view(row: StepIndex, zone: ZoneInfo, chaincode: str,
          summaries: Mapping[str, DeidSummary] | None = None) -> StepView:
    summary, files = _deid(row, summaries or {})
    return StepView(
        name=str(STEP_NAMES.get(row.step, row.step)), code=row.step,
        when=row.timestamp.astimezone(zone), msp=row.msp, executor=row.executor,
        transaction_id=row.transaction_id, block_number=row.block_number,
        chaincode=chaincode, chaincode_version=row.chaincode_version,
        package_id=row.package_id, hashes=_hashes(row.evidence, row.block_number),
        deid_summary=summary, deid_files=files)


@bp.get("/t/<token>")
def trace(token: str) -> str:
    """The donation's timeline."""
    donation = _donation(token)
    config = current_app.config["TRAZA"]
    zone = ZoneInfo(config.timezone)
    summaries = _summaries(donation.donation_id)
    steps = [_view(r, zone, config.chaincode, summaries) for r in _steps(donation.donation_id)]
    log.info("trace: shown %s (%d steps)", token_ref(token), len(steps))
    _audit("trace.read", token, donation)
    return render_template(
        "trace.html", token=token, donation=donation, steps=steps,
        state=str(STATE_NAMES.get(donation.state, donation.state)), zone=config.timezone)


def _audit(action: str, token: str, donation: DonationIndex, outcome: str = "success") -> None:
    # The QR holder is anonymous: the row names the token by its hash reference, never itself.
    audit.record(action, donation.donation_id, outcome, actor=f"qr:{token_ref(token)}",
                 role="qr-holder")


def _bundle(token: str, donation: DonationIndex, action: str) -> dict[str, Any]:
    """The donation's evidence bundle from the ledger (503 when it cannot be read)."""
    steps = {r.transaction_id: r.block_number for r in _steps(donation.donation_id)}
    bundler: Bundler | None = current_app.extensions.get("traza_bundler")
    if bundler is None or not steps:
        _audit(action, token, donation, "unavailable")
        abort(503)
    try:
        bundle = bundler(donation.donation_id, steps)
    except Exception as e:  # the peer down, a refused read: the page says "try later"
        log.warning("evidence: %s for %s", type(e).__name__, token_ref(token))
        _audit(action, token, donation, "unavailable")
        abort(503)
    _audit(action, token, donation)
    return bundle


@bp.get("/t/<token>/verify")
def verification(token: str) -> str:
    """The verification panel, computed now: the bundle checked as ``traza verify`` does."""
    donation = _donation(token)
    result: Verification = verify(_bundle(token, donation, "trace.verify"),
                                  current_app.extensions.get("traza_library"))
    log.info("verify: %s for %s", "ok" if result.ok else "FAILED", token_ref(token))
    return render_template("verify.html", token=token, donation=donation, result=result)


@bp.get("/t/<token>/evidence.json")
def evidence(token: str) -> Response:
    """The evidence bundle of the donation's steps, as a download."""
    donation = _donation(token)
    bundle = _bundle(token, donation, "trace.evidence")
    log.info("evidence: served %s (%d steps)", token_ref(token), len(bundle.get("steps", [])))
    body = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="evidencia-{donation.donation_id}.json"'})
