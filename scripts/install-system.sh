#!/usr/bin/env bash
# Install the Debian packages Traza needs, only those missing (apt-get update first).
#   tesseract-ocr, tesseract-ocr-spa : offline OCR of burned-in text (anonymizer/ocr.py)
#   dicom3tools                       : dciodvfy, validates de-identified DICOM in tests
#   libtesseract-dev libleptonica-dev pkg-config : to build tesserocr where pip finds no wheel
#   fonts-dejavu-core fonts-liberation fonts-noto-core fonts-urw-base35 : the fonts of the
#     generated scanned forms and of the burned-in evaluation set (bench/deid/burnedin_eval.py)
#   chromium                          : the browser tests' browser (Playwright drives it; no download)
#   wrk                               : HTTP load generator for bench/web
set -euo pipefail
pkgs=(tesseract-ocr tesseract-ocr-spa dicom3tools libtesseract-dev libleptonica-dev pkg-config
      fonts-dejavu-core fonts-liberation fonts-noto-core fonts-urw-base35 chromium wrk)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "[system] Debian packages present: ${pkgs[*]}" >&2
  exit 0
fi
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
echo "[system] installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
