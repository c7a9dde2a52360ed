"""The ``traza deid`` command (registered by client/cli.py with ``cli.add_command(deid)``)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from tqdm import tqdm

from anonymizer.errors import DeidError
from anonymizer.pipeline import DEFAULT_MAX_BYTES, FileResult, run
from anonymizer.profile import PROFILES

SECRET_ENV = "TRAZA_DEID_SECRET"
MIN_SECRET_BYTES = 16


def _secret(secret_file: Path | None) -> bytes:
    if secret_file is not None:
        secret = secret_file.read_bytes().rstrip(b"\r\n")
    else:
        secret = os.environ.get(SECRET_ENV, "").encode("utf-8")
    if not secret:
        raise click.UsageError(f"give --secret-file or set {SECRET_ENV}")
    if len(secret) < MIN_SECRET_BYTES:
        raise click.BadParameter(f"the secret must have at least {MIN_SECRET_BYTES} bytes",
                                 param_hint="--secret-file")
    return secret


@click.command("deid")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--profile", default="library", show_default=True,
              type=click.Choice(sorted(PROFILES)), help="PS3.15 Annex E profile.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one JSON action report per file here (<name>.json).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: all cores].")
@click.option("--secret-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=f"Key for UIDs, pseudonyms and date offsets [or env {SECRET_ENV}].")
@click.option("--donor", required=True, envvar="TRAZA_DEID_DONOR",
              help="Donor or donation id scoping UIDs, pseudonym and date offset (not PHI).")
@click.option("--max-size", "max_mb", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES >> 20,
              show_default=True, help="Refuse files (and zip members) bigger than this, in MiB.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def deid(input_path: Path, output: Path, profile: str, report_dir: Path | None,
         jobs: int | None, secret_file: Path | None, donor: str, max_mb: int,
         quiet: bool) -> None:
    """De-identify DICOM INPUT (a file, folder or zip) into OUTPUT, keeping relative names.

    Exits 1 if any file failed; the others are still written.
    """
    secret = _secret(secret_file)
    bar: tqdm | None = None
    failures: list[FileResult] = []

    def start(total: int) -> None:
        nonlocal bar
        bar = tqdm(total=total, unit="file", disable=quiet, desc="deid")

    def done(result: FileResult) -> None:
        if not result.ok:
            failures.append(result)
        if bar is not None:
            bar.update(1)

    try:
        result = run(input_path, output, profile=profile, report_dir=report_dir, jobs=jobs,
                     secret=secret, donor=donor, max_bytes=max_mb << 20, progress=done,
                     on_start=start)
    except DeidError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    for f in failures:
        click.echo(f"error: {f.error}", err=True)
    ok = len(result.results) - len(result.failed)
    click.echo(f"{ok} de-identified, {len(result.failed)} failed")
    if result.failed:
        raise SystemExit(1)
