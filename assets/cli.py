"""`unitylv`: the command line. Every command runs the same asset graph as the Dagster UI."""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.errors import UnityLVError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# Text from data (names, ids, paths, SQL results) is escaped or printed as Text: no markup,
# and no emoji codes, so `[/x]` or `:x:` in a user id prints as written.
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)

# Source, releases and work: a folder or an s3://bucket/prefix URL (see pipeline/storage).
SourceOpt = Annotated[
    str, typer.Option("--source", help="Source folder (published layout) or s3://bucket/prefix.")
]
ReleasesOpt = Annotated[
    str, typer.Option("--releases", help="Releases root folder or s3://bucket/prefix.")
]
WorkOpt = Annotated[
    str, typer.Option("--work", help="Folder or s3://bucket/prefix for intermediate results.")
]
VersionOpt = Annotated[str, typer.Option("--version", help="Semantic version X.Y.Z.")]
DEFAULT_SOURCE, DEFAULT_RELEASES, DEFAULT_WORK = "data/raw", "data/releases", "data/work"
DEFAULT_EVALUATIONS = Path("data/evaluations")
EXAMPLE_QUERIES = (
    "SELECT phase, count(*) AS images, round(avg(n_experts), 1) AS experts "
    "FROM images GROUP BY phase ORDER BY phase",
    "SELECT expert_id, count(*) AS curves, round(median(area_px)) AS median_area_px, "
    "sum(reversed::INT) AS traced_lateral_first "
    "FROM contours GROUP BY expert_id ORDER BY expert_id LIMIT 5",
    "SELECT count(*) AS contours, max(abs(ST_Area(geometry) - area_px)) AS max_area_gap "
    "FROM contours",
)


@app.command()
def synth(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the sample data to.")
    ] = DEFAULT_SOURCE,
    studies: Annotated[int, typer.Option(help="Number of studies (2 images each).")] = 100,
    experts: Annotated[int, typer.Option(help="Number of experts.")] = 11,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace a source layout already there.")] = False,
) -> None:
    """Write realistic sample data in the published UnityLV-MultiX layout."""
    from pipeline.synth import SynthOptions, synthesize

    options = SynthOptions(studies=studies, experts=experts, seed=seed)
    with err.status("writing sample data"):
        summary = synthesize(out_dir, options, overwrite=overwrite)
    err.print(f"{summary.images} images, {summary.curves} curves, {summary.points} points")
    print(out_dir)


@app.command()
def validate(source: SourceOpt = DEFAULT_SOURCE, work: WorkOpt = DEFAULT_WORK) -> None:
    """Check the source and its licensing; list every quarantined record."""
    from assets.runner import run_job
    from pipeline.buckets.layout import read_counts
    from pipeline.storage.location import local_path
    from pipeline.tables.table_files import TableFiles

    run_job("validate", source, DEFAULT_RELEASES, work)
    _print_rejects(TableFiles(local_path(work) / "tables"))
    counts = read_counts(local_path(work))
    err.print(counts.images.line("images"), markup=False)
    err.print(counts.curves.line("curves"), markup=False)
    print(work)


@app.command()
def derive(source: SourceOpt = DEFAULT_SOURCE, work: WorkOpt = DEFAULT_WORK) -> None:
    """Validate the source and derive every table into the work folder."""
    from assets.runner import run_job

    result = run_job("derive", source, DEFAULT_RELEASES, work)
    _print_counts(result, work)
    print(_child(work, "tables"))


@app.command()
def release(
    version: VersionOpt,
    source: SourceOpt = DEFAULT_SOURCE,
    releases: ReleasesOpt = DEFAULT_RELEASES,
    work: WorkOpt = DEFAULT_WORK,
    date: Annotated[str, typer.Option(help="Release date YYYY-MM-DD; default: the source's.")] = "",
) -> None:
    """Derive everything and cut the immutable release <releases>/unitylv-multix/<version>/."""
    from assets.runner import run_job
    from pipeline.release.cut import archive_path, check_new_version, check_version
    from pipeline.release.info import check_date
    from pipeline.storage.folders import releases_root

    check_version(version)
    # Again under the release lock (an S3 root: in its mirror); here to fail fast.
    check_new_version(releases_root(releases), version)
    if date:
        check_date(date)
    result = run_job("release", source, releases, work, version=version, date=date)
    _print_counts(result, work)
    metadata = result.asset_materializations_for_node("release_bag")[0].metadata
    digest = f"{archive_path(Path(), version).name} sha256 {metadata['archive_sha256'].value}"
    notes = metadata["notes"].value
    if metadata["created"].value:
        done = f"released {version}" + (f" ({notes})" if notes else "")
    elif notes:
        done = f"{version} already exists with identical content; repaired: {notes}"
    else:
        done = f"{version} already exists with identical content, nothing written"
    err.print(f"{done}; {digest}", soft_wrap=True, markup=False, highlight=False)
    print(metadata["path"].value)


@app.command()
def verify(
    path: Annotated[
        str, typer.Argument(help="A release folder or its .tar.gz archive (or their s3:// URL).")
    ],
) -> None:
    """Check a release's checksums; name every changed, missing or extra file."""
    from pipeline.release.verify import verify_release
    from pipeline.storage.location import is_remote
    from pipeline.storage.readers import verify_remote

    problems = verify_remote(path) if is_remote(path) else verify_release(Path(path))
    for problem in problems:
        err.print(f"[red]✗[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if problems:
        raise UnityLVError(
            f"{len(problems)} problem(s): the release does not verify", file=str(path)
        )
    err.print("[green]✓[/] every file matches its checksum")
    print(path)


@app.command()
def review(
    path: Annotated[Path, typer.Argument(help="A release folder (or its data/ folder).")],
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in a web browser, where one exists.")
    ] = False,
) -> None:
    """Print the path of a release's review page (overlays, plots, flags); --open opens it."""
    from pipeline.exports.layout import REVIEW_PAGE

    page = _data_dir(path) / REVIEW_PAGE
    if not page.is_file():
        raise UnityLVError(
            f"no review page ({REVIEW_PAGE}): not a release folder, or a release cut before "
            "review pages existed",
            file=str(path),
        )
    if open_page:
        import webbrowser

        if not webbrowser.open(page.resolve().as_uri()):
            err.print("no web browser found here: open the page below in one", markup=False)
    print(page)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The older release folder.")],
    new: Annotated[Path, typer.Argument(help="The newer release folder.")],
) -> None:
    """Report what changed between two releases (tables, images, curves, consensus, EF)."""
    from pipeline.release.diff import diff_markdown, diff_releases

    report = diff_markdown(diff_releases(_data_dir(old), _data_dir(new)), old.name, new.name)
    out.print(report, markup=False, highlight=False)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    release_path: Annotated[
        str | None, typer.Option("--release", help="A release folder, or its s3:// URL.")
    ] = None,
    evaluations: Annotated[
        Path | None,
        typer.Option("--evaluations", help="An evaluations folder (its tables and leaderboard)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print at most.")] = 50,
) -> None:
    """Run read-only SQL over a release's tables, the evaluations', or both, by name."""
    from pipeline.evaluate.catalog import open_catalog
    from pipeline.release.catalog import run_read_only
    from pipeline.storage.location import is_remote
    from pipeline.storage.readers import remote_release_tables

    if release_path is None and evaluations is None:
        raise UnityLVError("give --release PATH, --evaluations DIR, or both")
    if release_path is None:
        release = None
    elif is_remote(release_path):
        release = remote_release_tables(release_path)
    else:
        release = _data_dir(Path(release_path))
    con = open_catalog(release, evaluations)
    _print_relation(run_read_only(con, query), limit)


@app.command()
def evaluate(
    release_path: Annotated[
        Path, typer.Option("--release", help="The release to score against (read only).")
    ],
    predictions: Annotated[
        Path,
        typer.Option(
            "--predictions",
            help="A folder of <image_id>.png masks (nnUNetv2_predict output), a COCO results "
            "JSON or a curves JSON {image file name: [[x...], [y...]]}.",
        ),
    ],
    name: Annotated[
        str, typer.Option(help="Submission name; default: the predictions' folder or file name.")
    ] = "",
    out: Annotated[
        Path, typer.Option("--out", help="Evaluations folder; results go to <out>/<name>/.")
    ] = DEFAULT_EVALUATIONS,
    images: Annotated[
        Path | None,
        typer.Option("--images", help="Score only these images: a text file, one image_id a line."),
    ] = None,
) -> None:
    """Score a model's predictions against every expert and consensus of a release."""
    from pipeline.evaluate.run import check_inputs

    name = name or (predictions.stem if predictions.suffix == ".json" else predictions.name)
    check_inputs(release_path, predictions, name, out)  # again in the run; here to fail fast
    from assets.runner import run_evaluation

    result = run_evaluation(name, release_path, predictions, out, images)
    path = Path(result.asset_materializations_for_node("evaluation")[0].metadata["path"].value)
    _print_evaluation(path)
    print(path)


@app.command()
def leaderboard(
    evaluations: Annotated[
        Path, typer.Option("--evaluations", help="The evaluations folder.")
    ] = DEFAULT_EVALUATIONS,
    metric: Annotated[str, typer.Option(help="Rank by this metric's Williams index.")] = "dice",
    limit: Annotated[int, typer.Option(help="Rows to print at most.")] = 50,
) -> None:
    """Rank the evaluated submissions by Williams index, the experts' own range beside them."""
    from pipeline.evaluate.catalog import leaderboard_query, open_catalog
    from pipeline.release.catalog import run_read_only

    con = open_catalog(evaluations_root=evaluations)
    _print_relation(run_read_only(con, leaderboard_query(metric, compact=True)), limit)


@app.command()
def demo(
    source: SourceOpt = DEFAULT_SOURCE,
    releases: ReleasesOpt = DEFAULT_RELEASES,
    work: WorkOpt = DEFAULT_WORK,
    version: VersionOpt = "1.0.0",
) -> None:
    """Generate the sample data if the source is empty, cut a release and query it."""
    from pipeline.constants import ANNOTATIONS_FILE
    from pipeline.release.catalog import open_catalog, run_read_only

    if not (Path(source) / ANNOTATIONS_FILE).exists():
        err.print(f"no dataset in {source}: generating the sample data there", markup=False)
        synth(out_dir=Path(source), studies=100, experts=11, seed=0, overwrite=False)
    release(version=version, source=source, releases=releases, work=work)
    from pipeline.release.cut import release_path

    path = release_path(Path(releases), version)
    con = open_catalog(path / "data")
    for query in EXAMPLE_QUERIES:
        command = escape(f'unitylv sql --release {path} "{query}"')
        out.print(f"\n[bold]{command}[/]")
        _print_relation(run_read_only(con, query), 10)
    out.print(f"\nRelease {version} of {source}:", markup=False)
    print(path)


def _data_dir(path: Path) -> Path:
    return path / "data" if (path / "data").is_dir() else path


def _child(location: str, name: str) -> str:
    """`location`/name for a folder or an s3:// URL alike."""
    return f"{location.rstrip('/')}/{name}" if "://" in location else str(Path(location) / name)


def _print_relation(relation, limit: int) -> None:
    from pipeline.release.catalog import fetch

    if relation is None:
        return
    rows = fetch(relation, limit)
    table = Table(show_edge=False)
    for column in relation.columns:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    out.print(table)


def _print_counts(result, work: str) -> None:
    from assets.runner import check_warnings, materialized_tables
    from pipeline.storage.location import local_path
    from pipeline.tables.table_files import TableFiles

    for warning in check_warnings(result):
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    tables = TableFiles(local_path(work) / "tables")
    table = Table("table", "rows", show_edge=False)
    for name in materialized_tables(result):
        table.add_row(name, str(tables.num_rows(name)))
    err.print(table)


SHOWN_REJECTS = 50
SUMMARY_COLUMNS = (
    "metric",
    "williams_index",
    "williams_ci_low",
    "williams_ci_high",
    "expert_williams_min",
    "expert_williams_max",
    "percentile",
    "model_mean",
    "experts_mean",
)


def _print_evaluation(path: Path) -> None:
    """The summary, the coverage and the first rejects of an evaluation folder."""
    import pyarrow.parquet as pq

    from pipeline.evaluate.names import METRIC_NAMES

    summary = pq.read_table(path / "evaluation_summary.parquet").to_pylist()
    summary.sort(key=lambda row: METRIC_NAMES.index(row["metric"]))
    table = Table(*SUMMARY_COLUMNS, show_edge=False)
    for row in summary:
        table.add_row(*(Text(_shown(row[c])) for c in SUMMARY_COLUMNS))
    err.print(table)
    first = summary[0]
    err.print(
        f"{first['images']} images scored against release {first['release_version']}: "
        f"{first['images_predicted']} predicted, {first['images_missing']} missing and "
        f"{first['images_rejected']} rejected (scored as empty masks); "
        f"{first['rejected_entries']} row(s) in prediction_rejects",
        markup=False,
        highlight=False,
    )
    rejects = pq.read_table(path / "prediction_rejects.parquet").slice(0, SHOWN_REJECTS)
    if rejects.num_rows:
        columns = ["entry", "check", "scored_as", "message"]
        listing = Table(*columns, show_edge=False)
        for row in rejects.to_pylist():
            listing.add_row(*(Text(str(row[c])) for c in columns))
        err.print(listing)


def _shown(value) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _print_rejects(tables) -> None:
    total = tables.num_rows("rejects")
    if not total:
        err.print("no rejected or flagged records")
        return
    table = Table("severity", "check", "file", "record", "message", show_edge=False)
    columns = ["severity", "check", "source_file", "record", "message"]
    batch = next(tables.batches("rejects", columns, batch_size=SHOWN_REJECTS))
    for row in batch.to_pylist():
        table.add_row(*(Text(str(row[c])) for c in columns))
    err.print(table)
    if total > SHOWN_REJECTS:
        err.print(f"... and {total - SHOWN_REJECTS} more (see the rejects table)")


def use_system_allocator() -> None:
    """Arrow's buffers from the C allocator, in this process and its workers: mimalloc, the
    default, keeps what a step freed for later, and a run's steps hold very different tables
    (about 70 MB less at the peak on the sample)."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 1."""
    use_system_allocator()
    try:
        app()
    except UnityLVError as exc:
        err.print(f"[red]error:[/] {escape(exc.one_line())}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
