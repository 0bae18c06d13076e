"""Process-wide sharing of loaded models (transforms/resources.shared)."""
from __future__ import annotations

import os

from pipelines.recipe import TokenizeConfig
from transforms.resources import shared
from transforms.tokenize import Tokenize, TokenizerModel


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_one_load_per_process_and_a_rewritten_file_loads_again(tmp_path):
    path = str(tmp_path / "model.txt")
    with open(path, "w") as f:
        f.write("v1")
    first = shared(_read, path)
    assert first == "v1" and shared(_read, path) is first
    with open(path, "w") as f:
        f.write("version 2")  # a retrained model written in place: new size and mtime
    os.utime(path, ns=(1, 1))
    assert shared(_read, path) == "version 2"


def test_the_launchers_tokenizer_is_the_workers():
    from pipelines.card.run import load_tokenizer

    cfg = TokenizeConfig()
    launcher = load_tokenizer(cfg.tokenizer_path, cfg.eos_token, cfg.add_eos)
    st = Tokenize.from_recipe(cfg)
    assert isinstance(launcher, TokenizerModel) and st._load() is launcher
