"""The web app as the benchmark serves it: ``traza web serve``'s app and waitress settings,
on the synthetic index, with the per-address rate limit lifted (the load comes from one
address; limited, it would measure 429 pages). Run by :mod:`bench.web.run` as a child."""

from __future__ import annotations

import argparse
import logging

import waitress

from client.db import Database
from client.db.database import sqlite_url
from web import WebConfig, create_app
from web.security import TokenBucket


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    db = Database.open(sqlite_url(a.db))
    app = create_app(WebConfig(database_url=str(db.url)), database=db,
                     limiter=TokenBucket(10**9, 10**9))
    waitress.serve(app, host="127.0.0.1", port=a.port, threads=a.threads, ident="traza",
                   _quiet=True)


if __name__ == "__main__":
    main()
