"""The source as published, and the blocking checks that stop a run on bad input."""

import dagster as dg

from assets.errors import user_errors_as_failures
from assets.resources import SourceFolder
from pipeline.source.licence import licence_problems, load_metadata
from pipeline.source.reader import RawSource, annotation_shape_problem, read_source
from pipeline.source.validation import image_folder_problem


@dg.asset(group_name="source", kinds={"json", "png"}, description="The parsed source files.")
def raw_source(context: dg.AssetExecutionContext, source: SourceFolder) -> RawSource:
    with user_errors_as_failures():
        raw = read_source(source.root)
    n_images = len(raw.annotations) if isinstance(raw.annotations, list) else 0
    context.add_output_metadata(
        {
            "source": str(source.root),
            "annotated_images": n_images,
            "consensus_file": raw.consensus is not None,
        }
    )
    return raw


@dg.asset_check(asset=raw_source, blocking=True, description="Licensing metadata is complete.")
def licence(source: SourceFolder) -> dg.AssetCheckResult:
    """The reviewed metadata is complete, ShareAlike holds, and a source licence file agrees."""
    problems = licence_problems(load_metadata(), source.root)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or "licence CC-BY-NC-SA-4.0, metadata complete",
        metadata={"problems": len(problems)},
    )


@dg.asset_check(
    asset=raw_source, blocking=True, description="Annotations have the published shape."
)
def annotation_schema(raw_source: RawSource) -> dg.AssetCheckResult:
    problem = annotation_shape_problem(raw_source)
    return dg.AssetCheckResult(
        passed=problem is None,
        description=problem.one_line() if problem else "top level is {image: {userId: curve}}",
    )


@dg.asset_check(asset=raw_source, blocking=True, description="Images/ holds the annotated frames.")
def image_folder(raw_source: RawSource) -> dg.AssetCheckResult:
    problem = image_folder_problem(raw_source)
    return dg.AssetCheckResult(
        passed=problem is None, description=problem or "Images/ holds annotated PNG frames"
    )
