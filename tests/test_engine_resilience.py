"""The output folder survives what can go wrong around a build (a swap cut short, a full disk,
a signal during the swap, a bad output path), and the execution cache notices what the
reproducibility appendix reports (a new data file, a package upgrade, another pandoc)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from bookengine import output, toolchain
from bookengine.build import build
from bookengine.errors import BuildError


@pytest.fixture()
def book(built_minibook: Path, tmp_path: Path) -> Path:
    """A copy of the built minibook: previous site, warm caches."""
    target = tmp_path / "book"
    shutil.copytree(built_minibook, target)
    return target


def site_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root / "_book")): path.read_bytes()
            for path in sorted((root / "_book").rglob("*")) if path.is_file()}


def engine_leftovers(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir() if path.name.startswith("._book"))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def break_tables_chapter(root: Path) -> None:
    source = root / "chapters" / "tables.qmd"
    source.write_text(source.read_text().replace('markdown_table(pd.read_csv("data/points.csv"))', "1 / 0"))


# --- the output folder -------------------------------------------------------------------------


def test_site_left_aside_by_a_killed_swap_is_restored_even_by_a_failing_build(book: Path) -> None:
    before = site_files(book)
    pid = dead_pid()
    (book / "_book").rename(book / f"._book.old-{pid}-0badcafe")  # killed between the two renames
    (book / f"._book.building-{pid}-1eft0ver" / "site").mkdir(parents=True)  # and its scratch folder
    break_tables_chapter(book)
    with pytest.raises(BuildError, match="ZeroDivisionError"):
        build(book, pdf_output=False)
    assert site_files(book) == before
    assert engine_leftovers(book) == []


def test_signal_during_the_swap_waits_until_the_new_site_is_in_place(book: Path, monkeypatch) -> None:
    old_site = (book / "_book").stat().st_ino
    recover = output._recover_locked
    calls = []

    def interrupted(out: Path) -> None:
        calls.append(out)
        if len(calls) == 2:  # the first call is the build's start; the second is inside the swap
            os.kill(os.getpid(), signal.SIGINT)
        recover(out)

    monkeypatch.setattr(output, "_recover_locked", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(book, pdf_output=False)
    assert (book / "_book").stat().st_ino != old_site  # the swap completed first
    assert (book / "_book" / "index.html").is_file()
    assert engine_leftovers(book) == []


FULL_DISK = {
    "copying resources": ("bookengine.build.shutil.copytree", shutil.Error(
        [("assets", "_book/assets", "[Errno 28] No space left on device: '_book/assets/vega/vega-bundle.js'")]),
        "atlas: error: cannot copy assets to _book/assets: [Errno 28] No space left on device"),
    "writing a page": ("bookengine.site.write_site", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "index.html"),
                       "atlas: error: No space left on device: index.html"),
}


@pytest.mark.parametrize("case", list(FULL_DISK))
def test_full_disk_gives_one_line_and_keeps_the_site(book: Path, monkeypatch, capsys, case: str) -> None:
    target, error, message = FULL_DISK[case]
    before = site_files(book)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, fail)
    assert main(["build", "--engine", "builtin", "--project", str(book)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(message) and captured.err.count("\n") == 1, captured.err
    assert captured.out == ""
    assert site_files(book) == before
    assert engine_leftovers(book) == []


@pytest.mark.parametrize(("output_dir", "message"), [
    ("afile/sub", "cannot create the output folder {book}/afile/sub: {book}/afile is a file"),
    ("afile", "output path {book}/afile exists and is not a folder"),
])
def test_output_folder_that_cannot_be_one(book: Path, capsys, output_dir: str, message: str) -> None:
    (book / "afile").write_text("keep me\n")
    assert main(["build", "--engine", "builtin", "--project", str(book), "--output-dir", output_dir]) == 1
    assert capsys.readouterr().err == f"atlas: error: {message.format(book=book)}\n"
    assert (book / "afile").read_text() == "keep me\n"


def test_success_prints_where_the_site_and_the_pdf_are(book: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(book)
    assert main(["build", "--engine", "builtin", "--progress", "plain"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("Built with the builtin engine in ") and "(0 executed, 3 cached)" in lines[0]
    assert lines[1:] == ["  site: _book/index.html", "  PDF:  _book/Mini-Atlas.pdf"]
    log = captured.err.splitlines()
    stages = [line.split("] ", 1)[1] for line in log if "] " in line and not line.split("] ", 1)[1].startswith(" ")]
    assert [stage.split(" ")[0] for stage in stages if "done in" not in stage] == [
        "pre-render", "execute", "convert", "site", "typeset"]
    assert any("cached    chapters/growth.qmd" in line for line in log)


# --- what the execution cache covers -----------------------------------------------------------


LISTING_CELL = '\n```{python}\nimport os\nprint("files:", sorted(os.listdir("data")))\n```\n'


def test_new_file_in_a_listed_folder_reexecutes_the_chapter(book: Path) -> None:
    source = book / "chapters" / "tables.qmd"
    source.write_text(source.read_text() + LISTING_CELL)
    first = build(book, pdf_output=False)
    assert first.executed == ["chapters/tables.qmd"]
    assert "files: [&#39;points.csv&#39;]" in (book / "_book/chapters/tables.html").read_text()
    (book / "chapters" / "data" / "extra.csv").write_text("a\n1\n")
    again = build(book, pdf_output=False)
    assert again.executed == ["chapters/tables.qmd"]
    assert "files: [&#39;extra.csv&#39;, &#39;points.csv&#39;]" in (book / "_book/chapters/tables.html").read_text()
    assert build(book, pdf_output=False).executed == []


def fake_distribution(site_dir: Path, version: str) -> None:
    for old in site_dir.glob("atlas_probe-*.dist-info"):
        shutil.rmtree(old)
    info = site_dir / f"atlas_probe-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: atlas-probe\nVersion: {version}\n")


def test_package_upgrade_reexecutes_and_shows_the_new_version(book: Path, tmp_path: Path, monkeypatch) -> None:
    site_dir = tmp_path / "site-packages"
    fake_distribution(site_dir, "1.0")
    monkeypatch.syspath_prepend(str(site_dir))  # the build's view of the environment
    monkeypatch.setenv("PYTHONPATH", str(site_dir))  # the kernels' view
    source = book / "chapters" / "tables.qmd"
    source.write_text(source.read_text() + "\nProbe version `{python} __import__('importlib.metadata').metadata"
                                           ".version('atlas-probe')`.\n")
    build(book, pdf_output=False)
    assert "Probe version 1.0." in (book / "_book/chapters/tables.html").read_text()
    fake_distribution(site_dir, "2.0")
    upgraded = build(book, pdf_output=False)
    assert "chapters/tables.qmd" in upgraded.executed
    assert "Probe version 2.0." in (book / "_book/chapters/tables.html").read_text()


def test_environment_fingerprint_covers_the_pandoc_version(tmp_path: Path, monkeypatch) -> None:
    real = toolchain.environment_fingerprint()
    fake = tmp_path / "pandoc"
    fake.write_text("#!/bin/sh\necho 'pandoc 99.0'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(toolchain, "pandoc_path", lambda: str(fake))
    assert toolchain.pandoc_version() == f"{fake}: pandoc 99.0"
    assert toolchain.environment_fingerprint() != real
    assert any(entry.startswith("typst==") for entry in toolchain.installed_packages())
