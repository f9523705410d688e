#!/usr/bin/env bash
# Install the Debian packages Classpulse needs, only those that are missing:
# ffmpeg/ffprobe (decoding), pango (weasyprint's PDF layout), DejaVu fonts (report text),
# poppler-utils (pdftoppm/pdftotext, used by the tests to look at the PDF), redis-server (service),
# chromium and chromium-driver (the web page's browser tests drive a real Chromium through Selenium).
set -euo pipefail
need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
ldconfig -p | grep -q libpangoft2-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p | grep -q libharfbuzz-subset || need+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing system packages: ${need[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
