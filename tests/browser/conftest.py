"""A real headless browser (Debian's chromium driven by Playwright) and a store with hostile labels."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from coopgraph.backend import EmbeddedBackend
from coopgraph.build import GraphSource, build
from coopgraph.config import Settings
from coopgraph.store import StoreRoot
from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HOSTILE_DATA = Path(__file__).with_name("hostile-labels.ttl")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or CHROMIUM
    if not Path(executable).exists():
        pytest.fail("Chromium is missing: install Debian's chromium (apt-get install -y chromium) to run the browser tests.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page with its console errors, uncaught exceptions and dialogs collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

        def on_dialog(dialog: object) -> None:
            self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
            dialog.dismiss()  # type: ignore[attr-defined]

        page.on("dialog", on_dialog)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Watched(page)
    context.close()


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server over the shipped data plus labels that are markup (``<script>alert(1)</script>``)."""
    root = StoreRoot(tmp_path_factory.mktemp("hostile-store"))
    build(root, extra=[GraphSource("test-xss", (HOSTILE_DATA,))])
    with LiveServer(Settings(store=root.root, timeout=5.0), EmbeddedBackend(root)) as server:
        yield server
