"""Inter-expert agreement: each expert against the references, and every pair of experts."""

import dagster as dg

from assets.metadata import table_metadata
from pipeline.agreement.stage import image_agreement
from pipeline.consensus.stage import ImageConsensus
from pipeline.parallel import map_images
from pipeline.tables import schemas
from pipeline.tables.parquet_io import table_from_rows


@dg.multi_asset(
    group_name="agreement",
    outs={
        "agreement": dg.AssetOut(
            kinds={"parquet"}, description="Each expert against each reference."
        ),
        "pairwise_agreement": dg.AssetOut(kinds={"parquet"}, description="Every pair of experts."),
    },
)
def agreement_tables(context: dg.AssetExecutionContext, consensus_set: list[ImageConsensus]):
    per_image = map_images(image_agreement, consensus_set)
    agreement = table_from_rows([r for a, _ in per_image for r in a], schemas.AGREEMENT)
    pairwise = table_from_rows([r for _, p in per_image for r in p], schemas.PAIRWISE_AGREEMENT)
    yield dg.Output(agreement, "agreement", metadata=table_metadata(agreement, schemas.AGREEMENT))
    yield dg.Output(
        pairwise,
        "pairwise_agreement",
        metadata=table_metadata(pairwise, schemas.PAIRWISE_AGREEMENT),
    )
