"""The report as a person sees it: opened in headless Chromium (Debian's ``chromium``), driven by Playwright.

Checks: no console errors or uncaught exceptions, every figure rendered with a real size, the
leaderboard sorts when its headers are clicked, names with HTML never run, the print layout
hides the navigation; a screenshot is saved (to ``$BENCH_SCREENSHOTS`` when set, else the
test's temporary folder).

Skipped with the reason when Playwright or Chromium is missing on a developer machine; in CI
(``CI`` set) a missing browser is a failure, because ``.ci/run`` installs it.
"""

import os
import shutil
import unicodedata
from pathlib import Path

import pytest

from benchmark.config import parse_suite
from benchmark.report import write_report
from benchmark.run.driver import run_suite

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
EVIL = "<img src=x onerror=\"window.__pwned=1\">"


def _chromium() -> str | None:
    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).is_file():
            return cand
    return None


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run must install it for CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    exe = _chromium()
    if exe is None:
        _missing("Chromium is not installed (apt-get install chromium)")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=CHROMIUM_FLAGS,
                                                   viewport={"width": 1366, "height": 900})
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    raw = {"name": "browser", "tasks": [{"dataset": "iris"}, {"dataset": "diabetes"}, {"dataset": "breast_cancer"}],
           "candidates": ["dummy", "linear", "knn", {"name": EVIL, "base": "knn", "params": {"weights": "distance"}}],
           "trials": 3, "folds": 3, "inner": 2, "max_rows": 200, "learning_curve": [0.3, 0.6, 1.0]}
    out = tmp_path_factory.mktemp("runs") / "browser"
    res = run_suite(parse_suite(raw), out=out, progress=False)
    return write_report(res.run_dir)


@pytest.fixture(scope="module")
def opened(browser, report):
    page = browser.new_page()
    messages, errors = [], []
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri(), wait_until="load")
    yield page, messages, errors
    page.close()


def test_no_console_errors_and_no_injected_code_ran(opened):
    page, messages, errors = opened
    assert errors == []
    assert [m for m in messages if m[0] in ("error", "warning")] == []
    assert page.evaluate("window.__pwned === undefined")
    assert EVIL in page.inner_text("#leaderboard")  # shown as text


def test_every_figure_rendered(opened):
    page, _, _ = opened
    expected = int(page.get_attribute("body", "data-figures"))
    assert expected >= 3 + 2 * 3  # CD diagram, two suite curves, learning + tuning curves per task
    figs = page.evaluate("""() => Array.from(document.querySelectorAll('figure.fig')).map(f => {
        const svg = f.querySelector('svg'); if (!svg) return {name: f.dataset.figure, ok: false};
        const r = svg.getBoundingClientRect(), b = svg.getBBox();
        return {name: f.dataset.figure, w: r.width, h: r.height, bw: b.width, bh: b.height,
                marks: svg.querySelectorAll('path, use, line, polyline').length, texts: svg.querySelectorAll('text').length};
    })""")
    assert len(figs) == expected
    for f in figs:
        assert f.get("w", 0) > 150 and f.get("h", 0) > 80, f
        assert f["bw"] > 100 and f["bh"] > 50 and f["marks"] > 5 and f["texts"] > 3, f


def _column(page, index: int) -> list[str]:
    return page.eval_on_selector_all("#leaderboard-table tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent.trim())")


def test_leaderboard_sorts_when_a_header_is_clicked(opened):
    page, _, errors = opened
    headers = page.eval_on_selector_all("#leaderboard-table thead th", "ths => ths.map(t => t.textContent.trim())")
    rank_i = headers.index("mean rank")
    name_i = headers.index("candidate")
    initial = [float(x) for x in _column(page, rank_i)]
    assert initial == sorted(initial)
    page.click(f"#leaderboard-table thead th >> nth={rank_i}")
    assert page.get_attribute(f"#leaderboard-table thead th >> nth={rank_i}", "aria-sort") == "ascending"
    page.click(f"#leaderboard-table thead th >> nth={rank_i}")
    desc = [float(x) for x in _column(page, rank_i)]
    assert desc == sorted(initial, reverse=True)
    page.click(f"#leaderboard-table thead th >> nth={name_i}")
    names = _column(page, name_i)
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    page.focus(f"#leaderboard-table thead th >> nth={name_i}")
    page.keyboard.press("Enter")  # the keyboard works too
    assert _column(page, name_i) == names[::-1]
    assert errors == []


def test_screenshot_and_print_layout(opened, tmp_path):
    page, _, _ = opened
    folder = Path(os.environ.get("BENCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    page.emulate_media(media="screen")


# ---------------------------------------------------------------------------------------------
# issue 16: narrow screens, print, colours, the new tables


def test_no_sideways_scroll_at_420_px(browser, report):
    """At 420 px nothing sticks out of the viewport; wide tables and figures scroll inside their own box."""
    page = browser.new_page()
    page.set_viewport_size({"width": 420, "height": 900})
    try:
        page.goto(report.as_uri(), wait_until="load")
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        wide = page.evaluate("""() => {
            const inBox = el => el.closest('.tablewrap, figure.fig .svg, pre');
            return Array.from(document.querySelectorAll('body *')).filter(el => {
                const r = el.getBoundingClientRect();
                if (r.width === 0 || getComputedStyle(el).display === 'none') return false;
                const box = inBox(el);
                if (box && box !== el) return false;  // scrolled inside its box, which is itself checked
                return r.right > window.innerWidth + 0.5 || r.left < -0.5;
            }).map(el => el.tagName + '.' + el.className + ': ' + (el.textContent || '').slice(0, 40));
        }""")
        assert wide == []
        # figure text stays legible: the CD diagram's labels are at least 6 px high
        heights = page.evaluate("""() => Array.from(document.querySelectorAll('figure[data-figure=cd-diagram] svg text'))
            .map(t => t.getBoundingClientRect().height).filter(h => h > 0)""")
        assert heights and min(heights) >= 6
        folder = Path(os.environ.get("BENCH_SCREENSHOTS") or report.parent)
        page.screenshot(path=str(folder / "report-420.png"), full_page=True)
    finally:
        page.close()


def test_printed_pdf_keeps_every_column_header(browser, report, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    page = browser.new_page()
    try:
        page.goto(report.as_uri(), wait_until="load")
        headers = page.evaluate("""() => Array.from(document.querySelectorAll('table thead th'))
            .map(th => th.textContent.trim()).filter(t => t)""")
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('th.sortable'), '::after').content") in ("none", "normal")
        overflow = page.evaluate("getComputedStyle(document.querySelector('.tablewrap')).overflowX")
        assert overflow == "visible"  # no scrollbars on paper
        pdf = Path(os.environ.get("BENCH_SCREENSHOTS") or tmp_path) / "report.pdf"
        page.pdf(path=str(pdf), print_background=True, prefer_css_page_size=True)
    finally:
        page.close()
    text = "".join(p.extract_text() or "" for p in pypdf.PdfReader(str(pdf)).pages)
    flat = "".join(unicodedata.normalize("NFKC", text).split())  # NFKC: the ligature "ﬁ" back to "fi"
    missing = sorted({h for h in headers if "".join(h.split()) not in flat})
    assert missing == []


def test_every_candidate_has_its_own_colour(opened):
    page, _, _ = opened
    colours = page.eval_on_selector_all("#leaderboard-table tbody td.name .sw", "els => els.map(e => getComputedStyle(e).backgroundColor)")
    n = page.eval_on_selector_all("#leaderboard-table tbody tr", "rows => rows.length")
    assert len(colours) == n and len(set(colours)) == n


def test_elo_table_and_tradeoff_plot_render(opened):
    page, _, _ = opened
    n = page.eval_on_selector_all("#leaderboard-table tbody tr", "rows => rows.length")
    elo = page.eval_on_selector_all("#arena-table tbody tr", "rows => rows.map(r => parseFloat(r.cells[1].textContent))")
    assert len(elo) == n and all(e == e for e in elo)  # a number on every row
    assert 1000.0 in elo or any(abs(e - 1000) < 0.5 for e in elo)  # the reference candidate
    box = page.evaluate("""() => { const s = document.querySelector('figure[data-figure=tradeoff] svg');
        const r = s.getBoundingClientRect(); return {w: r.width, h: r.height, marks: s.querySelectorAll('path, use').length}; }""")
    assert box["w"] > 300 and box["h"] > 100 and box["marks"] >= n
    rows = page.eval_on_selector_all("#tradeoff-table tbody tr", "rows => rows.length")
    assert rows == n


def test_a_17_by_17_heat_map_fits_its_box(browser, tmp_path):
    """With 17 candidates and significant pairs the heat map is drawn, and no column is clipped."""
    from test_report_trust import _html, _records

    recs, man = _records({f"candidate_{i:02d}": 0.6 + 0.02 * i for i in range(17)}, tasks=tuple(f"t{i}" for i in range(16)), noise=0.005, folds=2)
    path = tmp_path / "heatmap.html"
    path.write_text(_html(recs, man), encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto(path.as_uri(), wait_until="load")
        box = page.evaluate("""() => { const t = document.querySelector('table.heatmap'); const w = t.closest('.tablewrap');
            return {table: t.getBoundingClientRect().width, box: w.clientWidth, scroll: w.scrollWidth}; }""")
        assert box["scroll"] <= box["box"] and box["table"] <= box["box"]
    finally:
        page.close()
