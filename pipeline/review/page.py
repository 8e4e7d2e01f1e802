"""`qa/index.html`: the review page, one self-contained file that opens from disk.

Plain HTML with inline CSS and a few lines of inline JavaScript (filters of the gallery by phase
and by flag); every link and image is a relative path inside the review folder, so the page
needs no server and no network. Text from the data (ids, reject messages) is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from pipeline.names import DEFAULT_METHOD
from pipeline.release.info import ReleaseInfo
from pipeline.review.curves import overlay_path
from pipeline.review.data import ImageAgreement, ReviewData
from pipeline.review.flags import LOW_DICE
from pipeline.review.overlays import overlay_size
from pipeline.review.plots import Plot
from pipeline.review.summary import expert_summaries, lowest_expert

PAGE_FILE = "index.html"

STYLE = """
:root { color-scheme: light; --flag: #c2185b; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1500px; padding: 0 1.2em 3em; color: #1a1a1a; }
h1 { margin: 0.8em 0 0.2em; font-size: 1.6em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d4d4d4; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.9em; word-break: break-all; }
.swatch { display: inline-block; width: 1.6em; height: 0.7em; border: 1px solid #555;
          vertical-align: middle; margin-right: 0.35em; }
.plots figure { margin: 1em 0 2em; }
.plots img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; }
.filters { margin: 0.6em 0; display: flex; gap: 1.2em; flex-wrap: wrap; align-items: center; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
           gap: 0.9em; }
.gallery figure { margin: 0; border: 1px solid #ccc; border-radius: 4px; padding: 0.4em;
                  background: #fafafa; }
.gallery figure.flagged { border-color: var(--flag); border-width: 2px; }
.gallery img { width: 100%; height: auto; display: block; background: #000; }
.gallery .dice { columns: 3; list-style: none; padding: 0; margin: 0.3em 0 0;
                 font-size: 0.82em; font-variant-numeric: tabular-nums; }
.gallery .dice li { white-space: nowrap; }
.low { color: var(--flag); font-weight: 600; }
.none { color: #666; }
[hidden] { display: none !important; }
"""

SCRIPT = """
(function () {
  var form = document.getElementById("filters");
  var cards = document.querySelectorAll("#gallery-grid > figure");
  var shown = document.getElementById("shown");
  function apply() {
    var phase = form.elements["phase"].value;
    var flaggedOnly = form.elements["flagged"].checked;
    var count = 0;
    cards.forEach(function (card) {
      var visible = (phase === "all" || card.dataset.phase === phase) &&
                    (!flaggedOnly || card.dataset.flagged === "1");
      card.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = String(count);
  }
  form.addEventListener("change", apply);
  apply();
})();
"""


def _cell(value: object, numeric: bool = False) -> str:
    klass = ' class="num"' if numeric else ""
    return f"<td{klass}>{escape(str(value))}</td>"


def _fmt(value: float | None, digits: int, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _table(head: list[str], body: list[str]) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _counts(data: ReviewData) -> str:
    rows = [
        f"<tr>{_cell(what)}{_cell(n, numeric=True)}{_cell(parts)}</tr>"
        for what, n, parts in data.counts
    ]
    table = _table(["what", "count", "of which"], rows)
    return f"<section id='counts'><h2>Counts</h2>{table}</section>"


def _experts(data: ReviewData) -> str:
    rows = []
    for row in expert_summaries(data):
        swatch = f'<span class="swatch" style="background:{row.colour}"></span>'
        rows.append(
            f"<tr><td>{swatch}{escape(row.expert_id)}</td>"
            + _cell(row.curves, True)
            + _cell(_fmt(row.median_dice, 3), True)
            + _cell(_fmt(row.median_hd95_px, 1), True)
            + _cell(_fmt(row.ef_bias_pts, 1, sign=True), True)
            + _cell(row.lateral_first, True)
            + _cell(row.flags, True)
            + "</tr>"
        )
    head = [
        "expert (colour)",
        "curves",
        "median Dice vs LOO",
        "median HD95 vs LOO, px",
        "EF bias, points",
        "traced lateral first",
        "flagged curves",
    ]
    return (
        "<section id='experts'><h2>Experts</h2><p>Each expert against the leave-one-out "
        "consensus (the arc-length mean of the other experts); EF bias is the mean of the "
        f"expert's EF minus the {escape(DEFAULT_METHOD)} consensus EF over the studies.</p>"
        + _table(head, rows)
        + "</section>"
    )


def _flags(data: ReviewData) -> str:
    flags = data.flags.all
    flag_rows = [
        f"<tr>{_cell(f.kind)}<td><code>{escape(f.subject)}</code></td>{_cell(f.expert_id)}"
        f"{_cell(f.detail)}</tr>"
        for f in flags
    ]
    flag_table = (
        _table(["flag", "image or study", "expert or userId", "detail"], flag_rows)
        if flags
        else "<p class='none'>No flags.</p>"
    )
    reject_rows = [
        f"<tr>{_cell(r['severity'])}{_cell(r['check'])}{_cell(r['source_file'])}"
        f"<td><code>{escape(r['record'])}</code></td>{_cell(r['message'])}</tr>"
        for r in data.rejects
    ]
    more = data.n_rejects - len(data.rejects)
    reject_table = (
        _table(["severity", "check", "file", "record", "message"], reject_rows)
        if reject_rows
        else "<p class='none'>No rejected or flagged source records.</p>"
    )
    if more > 0:
        reject_table += f"<p>… and {more} more: see <code>tables/rejects.parquet</code>.</p>"
    return (
        "<section id='flags'><h2>Flags</h2><p>Expert curves with a Dice below "
        f"{LOW_DICE:g} against their leave-one-out consensus, self-intersecting curves, EF "
        "outliers (more than 15 points from the consensus EF), studies whose consensus ED area "
        "is smaller than their ES area, and curves quarantined at validation.</p>"
        f"{flag_table}<h2 id='rejects'>Rejects</h2><p>Source records quarantined (error) or "
        f"kept with a warning at validation: {data.n_rejects}.</p>{reject_table}</section>"
    )


def _plots(plots: list[Plot]) -> str:
    figures = [
        f"<figure><img src='{quote(p.path)}' alt='{escape(p.title)}'>"
        f"<figcaption>{escape(p.caption)}</figcaption></figure>"
        for p in plots
    ]
    return "<section id='plots' class='plots'><h2>Plots</h2>" + "".join(figures) + "</section>"


def _card(image: ImageAgreement, rank: int, flagged: bool) -> str:
    path = quote(overlay_path(image.image_id))
    width, height = overlay_size(image.width, image.height)
    lowest = lowest_expert(image)
    items = []
    for expert, dice in image.dice.items():
        klass = " class='low'" if dice < LOW_DICE or (lowest and expert == lowest[0]) else ""
        items.append(f"<li{klass}>{escape(expert)} {dice:.3f}</li>")
    mean = _fmt(image.mean_dice, 3)
    dice_list = f"<ol class='dice'>{''.join(items)}</ol>" if items else ""
    klass = " class='flagged'" if flagged else ""
    return (
        f"<figure data-phase='{escape(image.phase)}' data-flagged='{int(flagged)}'{klass}>"
        f"<a href='{path}'><img src='{path}' alt='overlay of {escape(image.image_id)}' "
        f"width='{width}' height='{height}'></a>"
        f"<figcaption><code>{escape(image.image_id)}</code><br>#{rank} · "
        f"{escape(image.phase)} · mean Dice vs LOO {mean}"
        f"{' · flagged' if flagged else ''}{dice_list}</figcaption></figure>"
    )


def _gallery(data: ReviewData, flagged_images: set[str]) -> str:
    cards = [
        _card(image, rank, image.image_id in flagged_images)
        for rank, image in enumerate(data.images, start=1)
    ]
    return (
        "<section id='gallery'><h2>Overlays, worst agreement first</h2>"
        "<p>Every image with each expert's curve in its colour, the "
        f"{escape(DEFAULT_METHOD)} consensus in white (its mitral plane ends as squares, its "
        "apex as a ring), flagged curves over a magenta halo. Sorted by the mean Dice of the "
        "experts against their leave-one-out consensus, lowest first; the lowest expert of "
        "each image is highlighted. A thumbnail opens the full overlay.</p>"
        "<form id='filters' class='filters'>"
        "<span>phase: <label><input type='radio' name='phase' value='all' checked> all</label> "
        "<label><input type='radio' name='phase' value='ED'> ED</label> "
        "<label><input type='radio' name='phase' value='ES'> ES</label></span>"
        "<label><input type='checkbox' name='flagged'> flagged only</label>"
        f"<span><span id='shown'>{len(cards)}</span> of {len(cards)} shown</span></form>"
        f"<div id='gallery-grid' class='gallery'>{''.join(cards)}</div></section>"
    )


def review_page(
    data: ReviewData, info: ReleaseInfo, plots: list[Plot], flagged_images: set[str]
) -> str:
    """The review page's HTML."""
    name = escape(info.meta["dataset"]["name"])
    title = f"{name} {escape(info.version)}: review"
    nav = "".join(
        f"<a href='#{anchor}'>{label}</a>"
        for anchor, label in (
            ("counts", "counts"),
            ("experts", "experts"),
            ("flags", "flags"),
            ("rejects", "rejects"),
            ("plots", "plots"),
            ("gallery", "overlays"),
        )
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{title}</h1><p>Release {escape(info.version)} of {escape(info.date)}, "
        f"licence {escape(info.licence_spdx)}. This page and everything it shows are files of "
        "the release (<code>data/qa/</code>); the dataset card is <a href='../README.md'>"
        f"README.md</a>.</p><nav>{nav}</nav></header>"
        + _counts(data)
        + _experts(data)
        + _flags(data)
        + _plots(plots)
        + _gallery(data, flagged_images)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
