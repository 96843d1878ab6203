"""`hsibench report`: a static HTML report of the committed demo records, opened in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.report import ReportRequest
from hsibench.report.html_report import table_html
from hsibench.report.outputs import build_table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if IN_CI:
            pytest.fail("CI must have Chromium (.ci/run installs Debian's `chromium` package)")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    return found


def _chromium_run(browser: str, *arguments: str) -> str:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--virtual-time-budget=5000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main(["report", "demo", "--out", str(out), "--results", str(RESULTS)]) == 0
    return out


def test_the_report_has_an_index_and_a_page_with_every_part(report: Path) -> None:
    page = (report / "demo" / "index.html").read_text()
    for heading in ("Main table", "Ablation table", "Shots table", "Maps figure", "Per-seed values", "Provenance",
                    "Caveats"):
        assert f">{heading}<" in page, heading
    assert 'href="demo/index.html"' in (report / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images and all((report / "demo" / src).is_file() for src in images)
    assert "http://" not in page and "https://" not in page, "nothing is fetched from a network"


def test_a_table_renders_its_cells_bold_and_caption() -> None:
    table = build_table("main", ReportRequest(results_dir=RESULTS, protocol="demo"))
    rendered = table_html(table)
    assert rendered.count("<tr") == len(table.rows) + 1 and "<caption>" in rendered
    assert rendered.count("<b>") == sum(cell.bold for _, cells in table.rows for cell in cells)


def test_chromium_renders_the_page_with_every_image_and_every_oa(report: Path) -> None:
    browser = _chromium()
    page = (report / "demo" / "index.html").as_uri()
    screenshot = report / "demo-page.png"
    _chromium_run(browser, "--window-size=1280,2400", f"--screenshot={screenshot}", page)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000
    print(f"screenshot: {screenshot}")
    dom = _chromium_run(browser, "--dump-dom", page)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-broken-images="0"' in body and int(re.search(r'data-images="(\d+)"', body).group(1)) >= 3
    table = build_table("main", ReportRequest(results_dir=RESULTS, protocol="demo"))
    oa = next(cells for row, cells in table.rows if row.startswith("OA"))
    for column, cell in zip(table.columns, oa):
        assert cell.text(table.decimals) in dom, f"the OA of {column} is on the rendered page"
