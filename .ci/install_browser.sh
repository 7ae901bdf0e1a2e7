#!/usr/bin/env bash
# Install what tests/test_browser.py needs: Debian's Chromium and the playwright Python
# package (which drives it). `playwright install` is never run: it downloads its own
# browser build, which fails on machines without that access; the test points
# Playwright at /usr/bin/chromium instead. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "install_browser: need root or sudo for apt-get" >&2; exit 1; }
        sudo="sudo"
    fi
    $sudo apt-get update -q
    $sudo apt-get install -y -q chromium
fi
python3 -m pip install -q "playwright>=1.45"
# Check both work together, with no browser download.
CHROMIUM="$(command -v chromium)" python3 - <<'PY'
import os

from playwright.sync_api import sync_playwright

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], headless=True)
    page = browser.new_page()
    page.set_content("<p>ok</p>")
    assert page.inner_text("p") == "ok"
    print(f"install_browser: Chromium {browser.version} driven by Playwright: ok")
    browser.close()
PY
