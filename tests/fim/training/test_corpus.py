"""The training corpus: a listed set of standard-library files, the held-out ones never in it."""

from __future__ import annotations

import pytest

from fim.training.corpus import HELD_OUT, directory_corpus, stdlib_corpus

pytestmark = pytest.mark.unit


def test_stdlib_corpus_lists_files_and_holds_out_the_listed_ones():
    corpus = stdlib_corpus()
    assert set(corpus.held_out) == set(HELD_OUT)
    assert not set(corpus.train) & set(HELD_OUT)
    assert len(corpus.train) > 300
    assert "argparse.py" in corpus.train and "json/decoder.py" in corpus.train
    assert not any(part in ("test", "tests") or part.startswith("test_")
                   for name in corpus.train for part in name.split("/"))
    assert all((corpus.root / name).is_file() for name in corpus.train)


def test_a_folder_corpus_holds_out_the_listed_names(tmp_path):
    (tmp_path / "pkg").mkdir()
    for name in ("a.py", "heapq.py", "pkg/b.py", "pkg/test_b.py"):
        (tmp_path / name).write_text("x = 1\n")
    corpus = directory_corpus(tmp_path)
    assert corpus.train == ["a.py", "pkg/b.py"]
    assert corpus.held_out == ["heapq.py"]
