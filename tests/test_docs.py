"""The README's table reference is generated from the schemas and kept in sync."""

from pathlib import Path

from pipeline.docs import BEGIN, END, EVALUATION_BEGIN, EVALUATION_END, table_reference_markdown
from pipeline.evaluate.schemas import EVALUATION_TABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_reference_matches_schemas():
    text = README.read_text()
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert section.strip() == table_reference_markdown().strip(), "run `make docs`"
    section = text.split(EVALUATION_BEGIN, 1)[1].split(EVALUATION_END, 1)[0]
    assert section.strip() == table_reference_markdown(EVALUATION_TABLES).strip(), "make docs"


def test_readme_opens_with_the_two_commands():
    first_block = README.read_text().split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
