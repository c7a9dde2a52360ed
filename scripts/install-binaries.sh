#!/usr/bin/env bash
# Install pinned Fabric, Fabric CA and MinIO binaries with `go install` from the Go
# module proxy into a cache outside the clone, so every fresh clone on this machine
# reuses them. Already-built binaries are skipped.
#
#   TRAZA_CACHE   cache root (default ~/.cache/traza); binaries land in
#                 $TRAZA_CACHE/bin/<component>-<version>/
#   --print-versions  print the pins in effect (KEY=value) and exit
#
# Each binary is built inside a throw-away module that requires the pinned module
# version and copies its go.mod (requires and replaces), because `go install pkg@ver`
# also asks the proxy for the module's version list, which the reachable proxy refuses
# for Fabric. The result is the same build with the same dependency versions.
set -euo pipefail

# The pins live in network/versions.env (one copy, also read by network/binaries.py):
# FABRIC_VERSION, FABRIC_MODVER, FABRIC_CA_VERSION, MINIO_MODVER; TRAZA_<KEY> overrides each.
# Read as data (KEY=value lines), not sourced.
VERSIONS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/network/versions.env"
PINS=(FABRIC_VERSION FABRIC_MODVER FABRIC_CA_VERSION MINIO_MODVER)
while IFS= read -r line || [[ -n "$line" ]]; do
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  [[ "$line" =~ ^(FABRIC_VERSION|FABRIC_MODVER|FABRIC_CA_VERSION|MINIO_MODVER)=([^[:space:]]+)$ ]] ||
    { printf '[install] %s: not a known pin: %s\n' "$VERSIONS" "$line" >&2; exit 1; }
  key="${BASH_REMATCH[1]}" override="TRAZA_${BASH_REMATCH[1]}"
  printf -v "$key" '%s' "${!override:-${BASH_REMATCH[2]}}"
done < "$VERSIONS"
for key in "${PINS[@]}"; do
  [[ -n "${!key:-}" ]] || { printf '[install] %s: no %s\n' "$VERSIONS" "$key" >&2; exit 1; }
done
if [[ "${1:-}" == --print-versions ]]; then
  for key in "${PINS[@]}"; do
    printf '%s=%s\n' "$key" "${!key}"
  done
  exit 0
fi

CACHE="${TRAZA_CACHE:-$HOME/.cache/traza}"
export CGO_ENABLED="${CGO_ENABLED:-1}"
export GOFLAGS="-mod=mod -trimpath"

log() { printf '[install] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed: install Go >= 1.24 first"; exit 1; }

# module_dir MODULE VERSION: download a module and print its folder in the module cache.
module_dir() {
  (cd "$(mktemp -d)" && go mod download -json "$1@$2") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# build OUTDIR MODULE VERSION LDFLAGS PKG...: go install PKGs of MODULE@VERSION into OUTDIR.
build() {
  local out="$1" mod="$2" ver="$3" ldflags="$4"; shift 4
  local missing=()
  for pkg in "$@"; do [[ -x "$out/$(basename "$pkg")" ]] || missing+=("$pkg"); done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "$mod@$ver: cached in $out"
    return 0
  fi
  log "$mod@$ver: building ${missing[*]##*/} (a few minutes on 2 cores)"
  local t0=$SECONDS src work
  src=$(module_dir "$mod" "$ver")
  [[ -n "$src" ]] || { log "cannot download $mod@$ver from the module proxy"; exit 1; }
  work=$(mktemp -d)
  sed -e "s#^module .*#module traza.local/build#" "$src/go.mod" > "$work/go.mod"
  printf 'require %s %s\n' "$mod" "$ver" >> "$work/go.mod"
  [[ -f "$src/go.sum" ]] && cp "$src/go.sum" "$work/go.sum" && chmod u+w "$work/go.sum"
  mkdir -p "$out"
  (cd "$work" && GOBIN="$out.tmp" go install -ldflags "$ldflags" "${missing[@]}")
  mv "$out.tmp"/* "$out"/ && rmdir "$out.tmp"
  rm -rf "$work"
  log "$mod@$ver: built in $((SECONDS - t0)) s"
}

F=github.com/hyperledger/fabric
build "$CACHE/bin/fabric-$FABRIC_VERSION" "$F" "$FABRIC_MODVER" \
  "-X $F/common/metadata.Version=$FABRIC_VERSION -X $F/common/metadata.CommitSHA=${FABRIC_MODVER##*-}" \
  $F/cmd/peer $F/cmd/orderer $F/cmd/configtxgen $F/cmd/configtxlator $F/cmd/osnadmin

CA=github.com/hyperledger/fabric-ca
build "$CACHE/bin/fabric-ca-$FABRIC_CA_VERSION" "$CA" "v$FABRIC_CA_VERSION" \
  "-X $CA/lib/metadata.Version=$FABRIC_CA_VERSION" \
  $CA/cmd/fabric-ca-server $CA/cmd/fabric-ca-client

M=github.com/minio/minio
build "$CACHE/bin/minio-$MINIO_MODVER" "$M" "$MINIO_MODVER" "" $M

# Fabric's sample configs (core.yaml, orderer.yaml, configtx.yaml) from the module cache.
cfg="$CACHE/fabric-config-$FABRIC_VERSION"
if [[ ! -f "$cfg/core.yaml" ]]; then
  src=$(module_dir "$F" "$FABRIC_MODVER")
  mkdir -p "$cfg"
  cp "$src"/sampleconfig/{core.yaml,orderer.yaml,configtx.yaml} "$cfg/"
  chmod u+w "$cfg"/*
  log "sample configs copied to $cfg"
fi
log "done"
