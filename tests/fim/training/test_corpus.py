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


def test_pypi_packages_are_listed_with_version_and_licence_and_never_held_out_code(monkeypatch):
    """pip vendors requests, urllib3, idna and certifi: none of it is trained on."""
    from importlib.metadata import version

    from fim.training import corpus as corpus_module

    monkeypatch.setattr(corpus_module, "PYPI", [("pip", version("pip"), "MIT")])
    corpus = corpus_module.load_corpus(None, packages=True)
    (pip,) = corpus.manifest()["packages"]
    assert (pip["name"], pip["version"], pip["licence"]) == ("pip", version("pip"), "MIT")
    assert "pip/_internal/cli/main.py" in pip["files"]
    assert not [name for name in pip["files"]
                if any(part in name for part in ("_vendor", "requests", "urllib3", "certifi"))]
    assert len(corpus.train_texts()) == len(corpus.train) + len(pip["files"])
    assert set(corpus.held_out) == set(HELD_OUT)


def test_a_repeated_package_is_trained_on_that_many_times_an_epoch(monkeypatch):
    from importlib.metadata import version

    from fim.training import corpus as corpus_module

    monkeypatch.setattr(corpus_module, "PYPI", [("pip", version("pip"), "MIT")])
    monkeypatch.setattr(corpus_module, "REPEATS", {"pip": 3})
    corpus = corpus_module.load_corpus(None, packages=True)
    (pip,) = corpus.manifest()["packages"]
    assert pip["repeats"] == 3
    texts = corpus.train_texts()
    assert len(texts) == len(corpus.train) + 3 * len(pip["files"])
    first = texts[len(corpus.train)]
    assert texts.count(first) >= 3


def test_every_repeated_package_is_listed():
    from fim.training.corpus import PYPI, REPEATS

    assert set(REPEATS) <= {name for name, _, _ in PYPI}
    assert all(isinstance(times, int) and times >= 1 for times in REPEATS.values())


def test_a_package_at_another_version_is_refused_with_the_install_line(monkeypatch):
    from fim.training import corpus as corpus_module

    monkeypatch.setattr(corpus_module, "PYPI", [("pip", "0.0.1", "MIT")])
    with pytest.raises(corpus_module.CorpusError, match=r'pip==0.0.1 .*pip install "pip==0.0.1"'):
        corpus_module.pypi_packages()
    monkeypatch.setattr(corpus_module, "PYPI", [("no-such-package-xyz", "1.0", "MIT")])
    with pytest.raises(corpus_module.CorpusError, match="not installed"):
        corpus_module.pypi_packages()


def test_the_listed_packages_are_permissive_and_exclude_the_held_out_ones():
    from fim.training.corpus import NEVER, PYPI

    names = {name.lower().replace("-", "_") for name, _, _ in PYPI}
    assert not names & (NEVER | {"httpx", "httpcore", "h11"})
    for _, _, licence in PYPI:
        assert any(word in licence for word in ("MIT", "BSD", "Apache-2.0", "PSF-2.0")), licence
        assert "GPL" not in licence and "MPL" not in licence
