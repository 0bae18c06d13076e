import pytest

from pipelines.recipe import RecipeError, load_recipe


def test_builtin_recipes_load():
    for name in ("default", "demo"):
        r = load_recipe(name)
        assert r.langid.min_score == 0.65
    assert load_recipe("demo").sink.shard_bytes == 65536


def test_override_sets_typed_value():
    r = load_recipe("default", ["langid.min_score=0.8", "langid.languages=[zh]", "extract.enabled=false"])
    assert r.langid.min_score == 0.8
    assert r.langid.languages == ("zh",)
    assert r.extract.enabled is False


def test_unknown_key_names_the_key(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("langid:\n  min_scor: 0.5\n")
    with pytest.raises(RecipeError, match=r"langid\.min_scor.*unknown key"):
        load_recipe(p)


def test_bad_value_names_the_key():
    with pytest.raises(RecipeError, match=r"langid\.min_score"):
        load_recipe("default", ["langid.min_score=1.5"])
    with pytest.raises(RecipeError, match=r"sink\.shard_bytes"):
        load_recipe("default", ["sink.shard_bytes=lots"])


def test_bad_override_syntax():
    with pytest.raises(RecipeError, match="key=value"):
        load_recipe("default", ["langid.min_score"])
    with pytest.raises(RecipeError, match="not found"):
        load_recipe("no/such/recipe.yaml")


def test_recipe_is_frozen():
    r = load_recipe("default")
    with pytest.raises(Exception):
        r.langid.min_score = 0.1  # type: ignore[misc]
