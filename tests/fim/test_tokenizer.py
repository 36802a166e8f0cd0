"""Tokenizer loading: SentencePiece, tokenizer.json, model directories, FIM-less vocabularies."""

from __future__ import annotations

import logging

import pytest

from fim.prompt import FimFormat, build_prompt, choose_format
from fim.tokenizer import TokenizerError, load_tokenizer

pytestmark = pytest.mark.unit


def test_model_directory_prefers_sentencepiece(tiny_model):
    tok = load_tokenizer(tiny_model)
    assert tok.source.endswith("tokenizer.model")
    assert tok.has_fim


def test_round_trip_keeps_every_character(tiny_model):
    tok = load_tokenizer(tiny_model)
    text = " \tdef f(x):\n    return 'é😀'  \n"
    assert tok.decode_infilling(tok.encode_infilling(text)) == text


def test_fimless_tokenizer_is_served_left_to_right(tiny_model_no_fim, caplog):
    with caplog.at_level(logging.INFO):
        tok = load_tokenizer(tiny_model_no_fim)
    assert not tok.has_fim
    assert any("left to right" in r.message for r in caplog.records)
    assert choose_format(tok) is FimFormat.L2R
    prompt = build_prompt(tok, "def f():", "ignored", FimFormat.L2R)
    assert prompt.ids == [tok.bos_id] + tok.encode("def f():")
    with pytest.raises(TokenizerError, match="no FIM pieces"):
        choose_format(tok, spm=True, strict=True)


def test_missing_paths_are_clear_errors(tmp_path):
    with pytest.raises(TokenizerError, match="no such"):
        load_tokenizer(tmp_path / "absent" / "tokenizer.model")
    with pytest.raises(TokenizerError, match="no tokenizer.model or tokenizer.json"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.model").write_text("not a model")
    with pytest.raises(TokenizerError, match="not a SentencePiece model"):
        load_tokenizer(tmp_path / "tokenizer.model")


def test_unknown_hub_id_offline_is_a_clear_error():
    with pytest.raises(TokenizerError, match="nobody/no-such-model"):
        load_tokenizer("nobody/no-such-model")


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory):
    """A `tokenizers` BPE laid out like Llama's tokenizer.json, trained here."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                 split=False)
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first",
                                                        split=False),
                                     decoders.ByteFallback(), decoders.Fuse()])
    specials = ["<unk>", "<s>", "</s>", "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=list("☺▁ \n\t") + [f"<0x{i:02X}>" for i in range(256)])  # noqa: E501
    corpus = ["def f(x):\n    return x + 1\n", "class A:\n    pass\n", "for i in range(10):\n"] * 50
    tok.train_from_iterator(corpus, trainer)
    path = tmp_path_factory.mktemp("hf-tokenizer") / "tokenizer.json"
    tok.save(str(path))
    return path


def test_tokenizer_json_backend(tokenizer_json):
    tok = load_tokenizer(tokenizer_json.parent)
    assert tok.source.endswith("tokenizer.json") and not tok.is_sentencepiece
    assert tok.has_fim and tok.fim.prefix == 3 and tok.fim.eot == 6
    plain, infill = tok.encode("return x"), tok.encode_infilling("return x")
    assert tok.piece(plain[0]).startswith("▁")
    assert not tok.piece(infill[0]).startswith("▁")
    assert tok.decode_infilling(tok.encode_infilling("    return x\n")) == "    return x\n"
    prompt = build_prompt(tok, "def f(x):\n    ", "\n", FimFormat.PSM)
    assert prompt.ids[:2] == [tok.bos_id, tok.fim.prefix] and prompt.ids[-1] == tok.fim.middle
