"""Response headers (one strict CSP) and a per-address token bucket for the trace pages."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, Response, request

__all__ = ["CSP", "HEADERS", "TokenBucket", "install_headers"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it onwards
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install_headers(app: Flask) -> None:
    """Add :data:`HEADERS` to every response; ``Cache-Control: no-store`` on ``/t/``."""

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers[name] = value
        if request.path.startswith("/t/"):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        if request.is_secure:  # only over HTTPS: a plain-HTTP demo must stay reachable
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response


class TokenBucket:
    """A token bucket per key (client address), in memory, thread-safe.

    Parameters
    ----------
    rate_per_minute : int
        Tokens added per minute.
    burst : int
        The bucket's capacity (requests allowed at once).
    max_keys : int
        Buckets kept; the least recently used go first (bounded memory under a flood).
    clock : callable
        Seconds, monotonic (a fake in tests).
    """

    def __init__(self, rate_per_minute: int, burst: int, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_minute <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until one is there."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        """``wait`` seconds as a ``Retry-After`` value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))
