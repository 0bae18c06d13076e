"""docs/recipe-reference.md is generated from pipelines/recipe.py and must match it; every key has a meaning;
`yuliao recipe --defaults` lists every key with its default."""
from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.recipe import Recipe
from pipelines.recipe_reference import keys, markdown, missing_descriptions

DOC = Path(__file__).resolve().parents[1] / "docs" / "recipe-reference.md"
REGENERATE = "regenerate with: python -m pipelines.recipe_reference > docs/recipe-reference.md"


def test_reference_doc_matches_the_code():
    assert DOC.read_text(encoding="utf-8") == markdown(), f"docs/recipe-reference.md is stale; {REGENERATE}"


def test_every_key_has_a_description():
    assert missing_descriptions() == [], "add description= to these Fields in pipelines/recipe.py"


def test_defaults_lists_every_key_with_its_default(capsys):
    from pipelines.cli import main

    assert main(["recipe", "--defaults"]) == 0
    text = capsys.readouterr().out
    parsed = yaml.safe_load(text)  # `key: value  # meaning` lines are YAML
    defaults = Recipe().model_dump(mode="json")
    listed = list(keys())
    assert len(parsed) == len(listed) > 150
    for k in listed:
        node = defaults
        for part in k.key.split("."):
            node = node[part]
        want = list(node) if isinstance(node, tuple) else node
        assert parsed[k.key] == want, k.key
        assert f"# {k.description}" in text
