"""Workflow 4 in a real browser: the director exports the cohort's portfolios and watches
the progress bar; the ZIP's PDFs pass qpdf and are turned into page images to look at."""

import io
import shutil
import subprocess
import zipfile

import pytest

from tests.browser.conftest import ARTIFACTS, LIVE, screenshot, sign_in
from tests.conftest import EXPORT_DIR
from tests.portfolios.conftest import export_worker

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"


def test_director_exports_the_cohort_and_downloads_the_zip(new_page, live_server):
    page = new_page()
    sign_in(page, live_server, f"director@{DOMAIN}")
    page.locator("section[aria-labelledby='programs-h'] a[href^='/cohorts/']").first.click()
    cohort_url = page.url
    page.locator("a[href^='/students/']").first.click()
    page.click("a:has-text('Competency portfolio')")
    assert page.locator("h1", has_text="Competency portfolio").count() == 1
    assert page.locator("section.competency svg.chart").count() >= 1
    screenshot(page, "portfolio-page")
    page.goto(cohort_url)
    with export_worker(LIVE["database_url"], EXPORT_DIR):
        page.click("button:has-text('Export the whole cohort')")
        assert "/exports/" in page.url
        page.wait_for_selector("#download:not([hidden])", timeout=120_000)
        progress = page.locator("#progress")
        total = int(progress.get_attribute("max"))  # other browser tests may add students
        assert total >= 2 and progress.get_attribute("value") == str(total)
        assert page.locator("#progress-text").inner_text() == f"Finished: {total} of {total}."
        screenshot(page, "export-job")
        with page.expect_download() as download_info:
            page.click("#download a")
        data = download_info.value.path().read_bytes()
    bundle = zipfile.ZipFile(io.BytesIO(data))
    pdfs = [name for name in bundle.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == total and "index.csv" in bundle.namelist()
    out = ARTIFACTS / "export"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name in pdfs:
        (out / name).write_bytes(bundle.read(name))
    qpdf, pdftoppm = shutil.which("qpdf"), shutil.which("pdftoppm")
    if qpdf:
        for name in pdfs:
            check = subprocess.run(  # noqa: S603 - a fixed tool on our own file
                [qpdf, "--check", str(out / name)], capture_output=True, text=True
            )
            assert check.returncode == 0, check.stdout + check.stderr
    if pdftoppm:
        subprocess.run(  # noqa: S603
            [
                pdftoppm,
                "-r",
                "60",
                "-png",
                "-f",
                "1",
                "-l",
                "4",
                str(out / pdfs[0]),
                str(out / "page"),
            ],
            check=True,
        )
        assert len(list(out.glob("page-*.png"))) == 4
