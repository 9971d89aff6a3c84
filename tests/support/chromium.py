"""Debian's Chromium for the browser tier: where it is and how it is started (no Playwright here,
so the root conftest can name it without importing Playwright for every tier)."""

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home and fails on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
