"""Token healing's prompt side and its constraint: what is backed off, what may come next."""

from __future__ import annotations

import pytest

from fim.engines.base import GenerationRequest
from fim.engines.decoding import pick_next
from fim.engines.healing import HealingConstraint, start_healing
from fim.healing import (
    MAX_HEAL_TOKENS,
    answer_after,
    prefix_grammar,
    prefix_regex,
    regex_prefix,
)
from fim.pieces import piece_bytes, piece_index
from fim.prompt import FimFormat, build_prompt
from fim.tokenizer import load_tokenizer

pytestmark = pytest.mark.unit

FORMATS = [FimFormat.SPM, FimFormat.PSM, FimFormat.L2R]
SUFFIX = "\n    return total\n"


@pytest.fixture(scope="module")
def tok(tiny_model):
    return load_tokenizer(tiny_model)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("prefix", ["def f(x):\n    ", "total = compute(", "x = a.b + ",
                                    "s = '🦙", "print(x)\n", ""])
def test_the_prompt_is_unchanged_at_a_token_boundary(tok, fmt, prefix):
    healed = build_prompt(tok, prefix, SUFFIX, fmt, heal=True)
    assert healed == build_prompt(tok, prefix, SUFFIX, fmt)
    assert (healed.heal_text, healed.heal_ids) == ("", ())


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_pieces_of_the_partial_word_come_off_the_prompt(tok, fmt):
    prefix = "def f(x):\n    ret"
    plain = build_prompt(tok, prefix, SUFFIX, fmt)
    healed = build_prompt(tok, prefix, SUFFIX, fmt, heal=True)
    assert healed.heal_text == "ret"
    assert b"".join(piece_bytes(tok, i) for i in healed.heal_ids) == b"ret"
    if fmt is FimFormat.PSM:  # the prefix's ids sit before <SUF> ... <MID>
        cut = plain.ids.index(tok.fim.suffix)
        assert healed.ids == plain.ids[:cut - len(healed.heal_ids)] + plain.ids[cut:]
    else:  # the prefix ends the prompt: the healed prompt is the start of the plain one
        assert healed.ids + list(healed.heal_ids) == plain.ids


def test_code_llama_backs_off_the_word_piece_with_its_space(ours):
    healed = build_prompt(ours, "    def area(self):\n        ret", "\n", FimFormat.SPM, heal=True)
    assert healed.heal_text == " ret" and [ours.piece(i) for i in healed.heal_ids] == ["▁ret"]
    field = build_prompt(ours, "x = self.rad", "\n", FimFormat.SPM, heal=True)
    assert field.heal_text == "rad"  # after ".", a boundary Code Llama's pieces keep


def test_a_long_word_backs_off_a_bounded_number_of_pieces(tok):
    prefix = "value = compute_the_average_of_every_remaining_sample_valu"
    healed = build_prompt(tok, prefix, "\n", FimFormat.SPM, heal=True)
    assert 0 < len(healed.heal_ids) <= MAX_HEAL_TOKENS
    assert prefix.endswith(healed.heal_text) and len(healed.heal_text) < 20


def test_a_character_split_into_byte_pieces_is_never_cut(tok):
    # The tiny vocabulary has no piece for these characters: each is three byte pieces, so a
    # back-off of four pieces would start inside the first one; it keeps whole characters.
    prefix = "name = 日本"
    assert [tok.piece(i) for i in tok.encode(prefix)][-6:] == [
        "<0xE6>", "<0x97>", "<0xA5>", "<0xE6>", "<0x9C>", "<0xAC>"]
    healed = build_prompt(tok, prefix, "\n", FimFormat.SPM, heal=True)
    assert healed.heal_text == "本" and len(healed.heal_ids) == 3


def test_after_an_emoji_only_the_word_is_backed_off(tok):
    healed = build_prompt(tok, "s = '🦙ab", "'\n", FimFormat.SPM, heal=True)
    assert healed.heal_text == "ab"


def test_the_whole_prefix_goes_with_the_implicit_leading_space(tok):
    healed = build_prompt(tok, "ret", "\n", FimFormat.SPM, heal=True)
    assert healed.heal_text.strip() == "ret"
    assert healed.ids == build_prompt(tok, "", "\n", FimFormat.SPM).ids
    assert answer_after(healed.heal_text + "urn x", healed.heal_text) == "urn x"


def test_the_answer_is_what_follows_the_removed_text():
    assert answer_after("return x", "ret") == "urn x"
    assert answer_after(" return x", " ret") == "urn x"
    assert answer_after("return x", " ret") == "urn x"  # a server that dropped the space
    assert answer_after(" = 1", "ret") == ""  # the constraint was not kept: nothing to insert
    assert answer_after("re", "ret") == ""  # stopped before spelling it
    assert answer_after("anything", "") == "anything"


@pytest.mark.parametrize("text", ["ret", " self.rad", "a(b)[c]{d}|e*f+g?h^i$j\\k", "naïve 日本"])
def test_the_constraint_survives_the_regex_and_the_grammar(text):
    assert regex_prefix(prefix_regex(text)) == text
    assert prefix_regex(text).endswith("[\\s\\S]*")
    grammar = prefix_grammar('say "hi" \\ ok')
    assert grammar == 'root ::= "say \\"hi\\" \\\\ ok" [^\\x00]*'


def test_other_regexes_are_not_read_as_a_prefix():
    for regex in ["ret.*", "(ret)[\\s\\S]*", "r\\det[\\s\\S]*", "[\\s\\S]*x", "a+[\\s\\S]*"]:
        assert regex_prefix(regex) is None, regex


def test_special_pieces_spell_nothing(ours):
    index = piece_index(ours)
    fim = ours.fim
    for special in (ours.bos_id, ours.eos_id, fim.prefix, fim.suffix, fim.middle, fim.eot,
                    32000, 32004, 32015):  # and the partial FIM pieces Code Llama appends
        assert not index.is_text(special), ours.piece(special)
    assert index.is_text(ours.encode("x < y")[1])  # "▁<" is ordinary text


def test_the_next_pieces_are_those_consistent_with_what_is_left(ours):
    index = piece_index(ours)
    constraint = HealingConstraint(index, " ret")
    allowed = constraint.allowed()
    spelled = [index.spellings[i] for i in allowed]
    assert all(s.startswith(b" ret") or b" ret".startswith(s) for s in spelled)
    assert {b" return", b" ret", b" re", b" "} <= set(spelled)
    assert ours.fim.eot not in allowed and ours.eos_id not in allowed
    constraint.advance(ours.encode_infilling(" re")[0])  # "▁re": "t" is left
    assert constraint.left == b"t" and constraint.pending
    constraint.advance(ours.encode_infilling("turn")[0])
    assert not constraint.pending


def test_byte_pieces_spell_a_character_step_by_step(tok):
    constraint = start_healing(tok, "本")
    for byte in "本".encode():
        assert constraint.pending
        piece = tok.backend.piece_id(f"<0x{byte:02X}>")
        assert piece in constraint.allowed()
        constraint.advance(piece)
    assert not constraint.pending


@pytest.mark.parametrize("temperature", [0.0, 0.8])
@pytest.mark.parametrize("removed", ["ret", " self", "naïv", "本", "x_1"])
def test_no_pick_strays_from_the_removed_text(tok, temperature, removed):
    import torch

    torch.manual_seed(0)
    request = GenerationRequest([1], temperature=temperature, top_p=0.95)
    for seed in range(5):
        generator = torch.Generator().manual_seed(seed)
        constraint = start_healing(tok, removed)
        spelled = b""
        while constraint.pending:
            token = pick_next(torch.randn(tok.vocab_size) * 4, request, generator, constraint)
            spelled += piece_bytes(tok, token)
        assert spelled.startswith(removed.encode())
