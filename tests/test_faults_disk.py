"""A disk that fills during a build: one clear sentence, the previous data intact and served, nothing left behind."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coopgraph.backend import EmbeddedBackend
from coopgraph.store import StoreRoot
from tests.serve_process import COOPGRAPH

ASK_LYON = "ASK { <https://w3id.org/coopgraph/id/authority/lyon> ?p ?o }"


def coopgraph(*arguments: str, limit_file_size: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        # A file may not grow past the limit: the engine's next write fails (EFBIG), as on a full disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))  # type: ignore[arg-type]

    return subprocess.run(  # noqa: S603 - our own command
        [*COOPGRAPH, *arguments], capture_output=True, text=True, timeout=300,
        preexec_fn=limit if limit_file_size else None,  # noqa: PLW1509 - only sets limits
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], subprocess.CompletedProcess[str]]]]:
    """A store root on a 40 MiB file system, and a build that runs out of room on it.

    As root (CI here) a real tmpfs is mounted and filled with a ballast file; elsewhere,
    mounting is refused and the build runs under a file-size limit instead.
    """
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount_point)],  # noqa: S607
                             capture_output=True).returncode == 0
    root = mount_point / "store"
    try:
        first = coopgraph("build", "--store", str(root))
        assert first.returncode == 0, first.stderr

        def failing_build() -> subprocess.CompletedProcess[str]:
            if not mounted:
                return coopgraph("build", "--store", str(root), limit_file_size=512 * 1024)
            free = os.statvfs(mount_point).f_bavail * os.statvfs(mount_point).f_frsize
            with open(mount_point / "ballast", "wb") as ballast:
                ballast.truncate(0)
                os.posix_fallocate(ballast.fileno(), 0, free - 2 * 1024 * 1024)
            try:
                return coopgraph("build", "--store", str(root))
            finally:
                (mount_point / "ballast").unlink()

        yield root, failing_build
    finally:
        if mounted:
            subprocess.run(["umount", str(mount_point)], check=True)  # noqa: S607


def test_a_build_that_fills_the_disk_fails_in_one_sentence_and_keeps_the_previous_data(
    small_disk: tuple[Path, Callable[[], subprocess.CompletedProcess[str]]],
) -> None:
    root, failing_build = small_disk
    before = coopgraph("export", "--store", str(root), "--format", "nq").stdout
    generation = StoreRoot(root).current_path()
    assert before and generation is not None

    failed = failing_build()

    assert failed.returncode == 2, failed.stdout + failed.stderr
    message = " ".join(failed.stderr.split())  # the terminal may wrap the sentence
    assert "could not be written" in message and "previous data" in message, message
    assert ("disk is full" in message) or ("size limit" in message), message
    assert "Traceback" not in message and str(root) not in message
    # The previous generation is still current, whole, and answers.
    assert StoreRoot(root).current_path() == generation
    assert coopgraph("export", "--store", str(root), "--format", "nq").stdout == before
    backend = EmbeddedBackend(StoreRoot(root))
    assert backend.query(ASK_LYON).body.endswith(b"true}")
    # No half-written generation is left for a reader to find.
    assert not list(root.glob("staging-*"))
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("gen-")) == [generation.name]

    # With room again, the next build succeeds.
    again = coopgraph("build", "--store", str(root))
    assert again.returncode == 0, again.stderr
    assert StoreRoot(root).current_path() != generation
