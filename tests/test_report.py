"""``abauto report``: the HTML report of a real (small) search, checked as text and in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from abauto import report
from abauto.cli import app

CHROMIUM = Path("/usr/bin/chromium")
FIGURES = {"outer-scores", "history", "importance", "confusion", "profile-correlation"}
SECTIONS = ["dataset", "leaderboard", "outer-scores", "history", "importance", "confusion", "per-class", "final",
            "profile", "provenance"]


@pytest.fixture(scope="module")
def wine_report(wine_run):
    path = report.write_report(wine_run)
    return path, path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- pure helpers

OLD_REPORT_TXT = """\
Confusion matrix (rows actual, columns predicted):

        class_0 class_1 class_2
class_0      59       0       0
class_1       4      65       2
class_2       0       0      48
"""


def test_parse_confusion_of_report_txt():
    labels, m = report.parse_confusion("some text\n\n" + OLD_REPORT_TXT)
    assert labels == ["class_0", "class_1", "class_2"]
    assert m.tolist() == [[59, 0, 0], [4, 65, 2], [0, 0, 48]]
    assert report.parse_confusion("no matrix here") is None


def test_parse_confusion_with_spaces_in_labels():
    text = "Confusion matrix (rows actual, columns predicted):\n\n      hip hop  rock\nhip hop      3     1\n   rock      0     5\n"
    labels, m = report.parse_confusion(text)
    assert labels == ["hip hop", "rock"] and m.tolist() == [[3, 1], [0, 5]]


def test_per_class_from_confusion():
    per = report.per_class_from_confusion(["a", "b"], np.array([[3, 1], [0, 4]]))
    assert per["a"] == {"precision": 1.0, "recall": 0.75, "f1": pytest.approx(6 / 7), "support": 4}
    assert per["b"]["precision"] == pytest.approx(0.8) and per["b"]["support"] == 4


def test_svg_ids_are_prefixed_per_figure():
    fig = report.figure(2, 2)
    fig.add_subplot().plot([0, 1], [1, 0])
    text = report.svg(fig, "demo")
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert ids and all(i.startswith("demo-") for i in ids)
    assert all(ref.startswith("demo-") for ref in re.findall(r'url\(#([^)]+)\)', text))


# ----------------------------------------------------------------------------- report of a real run

def test_report_has_every_section_and_is_self_contained(wine_report, wine_run):
    path, text = wine_report
    assert path == wine_run / "report.html"
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in text
    assert 'class="error"' not in text, re.findall(r'class="error">([^<]*)', text)
    assert set(re.findall(r'data-figure="([^"]+)"', text)) == FIGURES
    # nothing is fetched: no scripts, stylesheets, images or remote references
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "src=", 'href="http', "url(http"):
        assert forbidden not in text
    assert "Content-Security-Policy" in text
    board = json.loads((wine_run / "leaderboard.json").read_text())
    for e in board["entries"]:
        assert f'<td class="nm">{e["family"]}</td>' in text
    assert board["command"] in text and "scikit-learn" in text
    assert len(text) < 600_000


def test_report_falls_back_when_inputs_are_missing(wine_run, tmp_path):
    """Older leaderboards (no best.confusion) use report.txt; no study.db or dataset gives notes."""
    run = tmp_path / "run"
    shutil.copytree(wine_run, run)
    board = json.loads((run / "leaderboard.json").read_text())
    confusion = board["best"].pop("confusion")
    board["best"].pop("per_class")
    board["dataset"]["source"] = str(tmp_path / "gone.csv")
    (run / "leaderboard.json").write_text(json.dumps(board))
    (run / "study.db").unlink()
    r = report.Run(run)
    labels, m = r.confusion()
    assert labels == confusion["labels"] and m.tolist() == confusion["matrix"]
    text = report.write_report(run).read_text()
    assert 'class="error"' not in text
    assert "No study.db" in text and "is not available here" in text
    assert set(re.findall(r'data-figure="([^"]+)"', text)) == {"outer-scores", "confusion"}


def test_report_command(wine_run, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(wine_run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "wrote" in result.output


def test_report_command_without_run_folder(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "no such run folder" in str(result.exception)


# ----------------------------------------------------------------------------- headless Chromium

def chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        message = "/usr/bin/chromium is absent; install it with: apt-get install -y chromium"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{message} (CI is set: the browser tests must run there, not skip)")
        pytest.skip(message)
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def console_messages(stderr: str) -> list[str]:
    """Chromium logs every console message (uncaught errors, CSP violations) as ':CONSOLE'."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


class SvgCounter(HTMLParser):
    """Drawing elements (path, use, text, ...) inside each top-level <svg> of a page."""

    DRAWING = {"path", "use", "text", "rect", "line", "polyline", "polygon", "circle", "image"}

    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            if self.depth == 0:
                self.figures.append({"label": dict(attrs).get("aria-label", ""), "drawing": 0})
            self.depth += 1
        elif self.depth and tag in self.DRAWING:
            self.figures[-1]["drawing"] += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "svg":
            self.depth -= 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth -= 1


def test_console_check_catches_errors(tmp_path):
    """The check below really sees script errors and blocked network loads."""
    page = tmp_path / "bad.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{report.CSP}">'
                    '</head><body><img src="https://example.invalid/x.png"><p>x</p></body></html>')
    result = chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert any("Content Security Policy" in m for m in console_messages(result.stderr)), result.stderr[-2000:]


def test_report_in_headless_chromium(wine_report, tmp_path):
    path, _ = wine_report
    result = chromium(tmp_path, path.as_uri(), "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    dom = result.stdout
    assert "<h1>abauto report: wine</h1>" in dom
    counter = SvgCounter()
    counter.feed(dom)
    assert set(re.findall(r'data-figure="([^"]+)"', dom)) == FIGURES
    assert len(counter.figures) == len(FIGURES)
    for fig in counter.figures:
        assert fig["drawing"] >= 10, f"figure {fig['label']!r} is (nearly) empty"

    shot = tmp_path / "report.png"
    result = chromium(tmp_path, path.as_uri(), f"--screenshot={shot}", "--window-size=1280,4000", "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 50_000, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (4000, 1280)
    # plenty of ink: text, tables and figures are drawn, not a blank or error page
    assert (pixels < 200).mean() > 0.02


def test_profile_section_uses_the_model_features(wine_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(wine_run, run)
    card = json.loads((run / "model-card.json").read_text())
    card["features"] = card["features"][:5]
    (run / "model-card.json").write_text(json.dumps(card))
    section = report.section_profile(report.Run(run))
    assert "178 rows, 5 features" in section and 'data-figure="profile-correlation"' in section


MEASURE = """<script>
const tables = [...document.querySelectorAll('table')].map((t) => ({
  section: (t.closest('section') || {}).id, width: t.getBoundingClientRect().width,
  box: t.parentElement.clientWidth, scroll: t.parentElement.scrollWidth}));
const pre = document.createElement('pre');
pre.id = 'measure';
pre.textContent = JSON.stringify({tables, page: document.documentElement.scrollWidth, viewport: innerWidth});
document.body.appendChild(pre);
</script>"""


def table_widths(tmp_path: Path, report_html: str, width: int) -> dict:
    """Every table's width and its box's in Chromium at ``width`` px. The page forbids scripts, so
    this measures a copy whose policy also allows one inline script (the measuring one); the
    markup and CSS are the report's own."""
    import html as _html

    page = tmp_path / "measure.html"
    page.write_text(report_html.replace(report.CSP, report.CSP + "; script-src 'unsafe-inline'")
                    .replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    result = chromium(tmp_path, page.as_uri(), "--dump-dom", f"--window-size={width},2000")
    found = re.search(r'<pre id="measure">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    return json.loads(_html.unescape(found.group(1)))


def test_no_table_overflows_at_800_px(wine_report, tmp_path):
    """At 800 px the leaderboard (pipeline column included) and every other table fit their box:
    no sideways scrolling, nothing cut off; also for the full 12-family committed wine leaderboard."""
    _, text = wine_report
    pages = {"wine run": text}
    committed = Path(__file__).resolve().parents[1] / "leaderboards" / "wine.json"
    if committed.exists():
        run = tmp_path / "committed"
        run.mkdir()
        shutil.copy(committed, run / "leaderboard.json")
        pages["committed wine"] = report.render(run)
    for name, html_text in pages.items():
        m = table_widths(tmp_path, html_text, 800)
        assert m["viewport"] == 800 and m["page"] <= 800, (name, m)
        sections = {t["section"] for t in m["tables"]}
        assert "leaderboard" in sections, (name, sections)
        for t in m["tables"]:
            assert t["width"] <= t["box"] + 0.5 and t["scroll"] <= t["box"], (name, t)


def test_report_rounds_pipeline_parameters(wine_run, wine_report):
    _, text = wine_report
    board = json.loads((wine_run / "leaderboard.json").read_text())
    final = text.split('<section id="final">')[1].split("<details>")[0]
    pipelines = [m["pipeline"] for m in board["final"].get("members", [])] or [board["final"]["pipeline"]]
    floats = [v for p in pipelines for s in p for v in s["params"].values() if isinstance(v, float)]
    assert floats  # seed 0: the final pipeline (or the final ensemble's members) has float parameters
    for v in floats:
        assert f"{v:.4g}" in final and (repr(v) == f"{v:.4g}" or repr(v) not in final)  # e.g. 1e-09 is both
