"""The ``traza deid`` command (registered by client/cli.py with ``cli.add_command(deid)``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from tqdm import tqdm

from anonymizer.archive import ZipLimits
from anonymizer.errors import DeidError
from anonymizer.files import LooseSecretError, read_secret, write_secret
from anonymizer.pipeline import DEFAULT_MAX_BYTES, FileResult, run
from anonymizer.profile import PROFILES

SECRET_ENV = "TRAZA_DEID_SECRET"
MIN_SECRET_BYTES = 16


def default_secret_path() -> Path:
    """Where a generated secret is kept: ``$XDG_CONFIG_HOME/traza/deid-secret``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "traza" / "deid-secret"


def _secret(secret_file: Path | None) -> bytes:
    if secret_file is not None:
        secret = secret_file.read_bytes().rstrip(b"\r\n")
    elif os.environ.get(SECRET_ENV):
        secret = os.environ[SECRET_ENV].encode("utf-8")
    else:
        secret = _saved_secret(default_secret_path())
    if not secret:
        raise click.BadParameter("the secret file is empty", param_hint="--secret-file")
    if len(secret) < MIN_SECRET_BYTES:
        raise click.BadParameter(f"the secret must have at least {MIN_SECRET_BYTES} bytes",
                                 param_hint="--secret-file")
    return secret


def _saved_secret(path: Path) -> bytes:
    # Same secret, same UIDs and dates on the next run: it is kept, 0600, and reused.
    if path.exists():
        try:
            secret = read_secret(path).rstrip(b"\r\n")
        except (LooseSecretError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"using the secret in {path}", err=True)
        return secret
    write_secret(path, secrets.token_hex(32) + "\n")
    click.echo(f"no secret given: generated one and saved it (mode 0600) in {path}; keep it "
               "to get the same UIDs, pseudonyms and dates next time", err=True)
    return read_secret(path).rstrip(b"\r\n")


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
              help=f"Key for UIDs, pseudonyms and date offsets [or env {SECRET_ENV}; "
                   "else one generated and kept in $XDG_CONFIG_HOME/traza/deid-secret].")
@click.option("--donor", envvar="TRAZA_DEID_DONOR",
              help="Donor or donation id scoping UIDs, pseudonym and date offset (not PHI) "
                   "[default: each original patient, by PatientID and its issuer].")
@click.option("--max-size", "max_mb", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES >> 20,
              show_default=True, help="Refuse files (and zip members) bigger than this, in MiB.")
@click.option("--zip-max-total", "zip_total_mb", type=click.IntRange(min=1),
              default=ZipLimits.max_total >> 20, show_default=True,
              help="Refuse a zip whose members add up to more than this, in MiB.")
@click.option("--zip-max-members", type=click.IntRange(min=1),
              default=ZipLimits.max_members, show_default=True,
              help="Refuse a zip with more members than this.")
@click.option("--zip-max-ratio", type=click.FloatRange(min=1), default=ZipLimits.max_ratio,
              show_default=True, help="Refuse a zip compressed more than this (zip bombs).")
@click.option("--keep-names", is_flag=True,
              help="Keep input names under OUTPUT (library profiles name outputs by their "
                   "new SOP Instance UID: file and folder names can carry personal data).")
@click.option("--verbose", is_flag=True,
              help="Name failed files by their input name, not their position.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def deid(input_path: Path, output: Path, profile: str, report_dir: Path | None,
         jobs: int | None, secret_file: Path | None, donor: str | None, max_mb: int,
         zip_total_mb: int, zip_max_members: int, zip_max_ratio: float, keep_names: bool,
         verbose: bool, quiet: bool) -> None:
    """De-identify DICOM INPUT (a file, folder or zip) into OUTPUT.

    Outputs are named by their new SOP Instance UID for the library profiles (input names
    with --keep-names or another profile). Exits 1 if any file failed; the others are
    still written.
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
        limits = ZipLimits(max_member=max_mb << 20, max_total=zip_total_mb << 20,
                           max_members=zip_max_members, max_ratio=zip_max_ratio)
        result = run(input_path, output, profile=profile, report_dir=report_dir, jobs=jobs,
                     secret=secret, donor=donor, max_bytes=max_mb << 20, progress=done,
                     on_start=start, keep_names=True if keep_names else None,
                     verbose=verbose, zip_limits=limits)
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
