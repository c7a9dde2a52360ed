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

from client.db.models import DonationIndex, StepIndex
from client.donor import sha256_hex
from client.evidence import step_claim

from .i18n import STATE_NAMES, STEP_NAMES

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


def _view(row: StepIndex, zone: ZoneInfo, chaincode: str) -> StepView:
    return StepView(
        name=str(STEP_NAMES.get(row.step, row.step)), code=row.step,
        when=row.timestamp.astimezone(zone), msp=row.msp, executor=row.executor,
        transaction_id=row.transaction_id, block_number=row.block_number,
        chaincode=chaincode, chaincode_version=row.chaincode_version,
        package_id=row.package_id, hashes=_hashes(row.evidence, row.block_number))


@bp.get("/t/<token>")
def trace(token: str) -> str:
    """The donation's timeline."""
    donation = _donation(token)
    config = current_app.config["TRAZA"]
    zone = ZoneInfo(config.timezone)
    steps = [_view(r, zone, config.chaincode) for r in _steps(donation.donation_id)]
    log.info("trace: shown %s (%d steps)", token_ref(token), len(steps))
    return render_template(
        "trace.html", token=token, donation=donation, steps=steps,
        state=str(STATE_NAMES.get(donation.state, donation.state)), zone=config.timezone)


@bp.get("/t/<token>/evidence.json")
def evidence(token: str) -> Response:
    """The evidence bundle of the donation's steps, as a download."""
    donation = _donation(token)
    steps = {r.transaction_id: r.block_number for r in _steps(donation.donation_id)}
    bundler: Bundler | None = current_app.extensions.get("traza_bundler")
    if bundler is None or not steps:
        abort(503)
    try:
        bundle = bundler(donation.donation_id, steps)
    except Exception as e:  # the peer down, a refused read: the page says "try later"
        log.warning("evidence: %s for %s", type(e).__name__, token_ref(token))
        abort(503)
    log.info("evidence: served %s (%d steps)", token_ref(token), len(steps))
    body = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="evidencia-{donation.donation_id}.json"'})
