"""Language ID accuracy on the labelled lingua sentences (zh, en) with the shipped lid.176.ftz."""
import gzip

from pipelines.recipe import LangIdConfig
from schemas.document import Document
from transforms.langid import LangId, LangIdModel
from transforms.stage import Rejection


def _sentences(data_dir, lang, n=700):
    path = data_dir / "misc" / "langid" / "lingua-sentences" / f"{lang}.txt.gz"
    lines = [line.strip() for line in gzip.open(path, "rt", encoding="utf-8") if line.strip()]
    return lines[:n]


def test_accuracy_zh_en(data_dir):
    model = LangIdModel.from_recipe(LangIdConfig())
    acc = {}
    for lang in ("zh", "en"):
        sents = _sentences(data_dir, lang)
        preds = model.predict(sents)
        acc[lang] = sum(p[0] == lang for p in preds) / len(sents)
    print(f"\nlangid accuracy: {acc}")
    assert acc["zh"] >= 0.97 and acc["en"] >= 0.97


def test_other_languages_are_not_zh_or_en(data_dir):
    model = LangIdModel.from_recipe(LangIdConfig())
    sents = _sentences(data_dir, "de", 300) + _sentences(data_dir, "ja", 300)
    wrong = sum(p[0] in ("zh", "en") for p in model.predict(sents))
    assert wrong / len(sents) < 0.05


def test_stage_keeps_selected_languages_and_labels_rejects():
    stage = LangId.from_recipe(LangIdConfig(languages=("zh",), min_score=0.65))
    docs = [Document(id="1", text="今天天气很好，我们去公园散步吧。", source="web", origin="t"),
            Document(id="2", text="The weather is lovely today, let us walk in the park.", source="web", origin="t")]
    out = list(stage.apply(docs))
    assert out[0].lang == "zh" and out[0].lang_score >= 0.65
    assert isinstance(out[1], Rejection) and out[1].reason == "lang_not_selected" and out[1].doc.lang == "en"


def test_batch_and_single_predictions_agree(data_dir):
    model = LangIdModel.from_recipe(LangIdConfig())
    sents = _sentences(data_dir, "zh", 50) + _sentences(data_dir, "en", 50)
    assert model.predict(sents) == [model.predict([s])[0] for s in sents]
