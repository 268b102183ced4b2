#!/usr/bin/env bash
# Make sure headless Chromium is installed for the browser checks of the HTML reports
# (tests/browser.py). Debian's `chromium` package; nothing is downloaded outside apt.
# Never fails the build: without root or apt-get it says so, and the browser tests skip
# with that reason.
set -uo pipefail

for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_browser: no chromium and no apt-get; the browser tests will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure_browser: no chromium, and installing it needs root" \
            "(sudo apt-get install chromium); the browser tests will be skipped" >&2
        exit 0
    fi
else
    SUDO=""
fi

echo "ensure_browser: installing chromium from the Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq \
       && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >&2; then
    echo "ensure_browser: apt-get could not install chromium; the browser tests will be skipped" >&2
fi
exit 0
