"""The training corpus: a fixed, listed set of the standard library's Python source files, and
optionally a fixed list of permissively licensed PyPI packages at pinned versions.

The standard library's files ship with the interpreter (`sysconfig.get_paths()["stdlib"]`);
`HELD_OUT` is never trained on and is what `codellama eval holes` measures the demo model on. The
packages are read from where they are installed (`pip install` the pins in `PYPI`, or
`pypi_requirements()`); a package at another version is refused, so that a corpus is the same
wherever it is rebuilt.
"""

from __future__ import annotations

import importlib.metadata
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

# Packages of the standard library trained on besides its top-level modules (tests, GUI code,
# vendored tools and generated tables left out).
PACKAGES = ["asyncio", "collections", "concurrent", "email", "html", "http", "importlib", "json",
            "logging", "multiprocessing", "re", "tomllib", "unittest", "urllib", "wsgiref",
            "xml", "xmlrpc", "zoneinfo", "dbm", "sqlite3", "ctypes", "curses"]
EXCLUDED = {"this.py", "antigravity.py", "__phello__.foo.py"}
HELD_OUT = ["bisect.py", "colorsys.py", "fnmatch.py", "glob.py", "graphlib.py", "heapq.py",
            "queue.py", "sched.py", "shlex.py", "textwrap.py", "json/encoder.py"]


# Permissively licensed PyPI distributions (name, version, licence as their metadata states it),
# chosen for ordinary Python of many kinds. Left out: `requests` and its dependencies `urllib3`,
# `idna`, `charset-normalizer`, `certifi` (held out as evaluation code nobody here wrote; also
# never trained on where another package vendors them, as pip does), HTTP clients close to
# requests (httpx, httpcore, h11), copyleft-tinged licences (MPL: hypothesis, tqdm, pathspec),
# and huge or generated code that would swamp the rest (torch, transformers, sympy, playwright).
PYPI: list[tuple[str, str, str]] = [
    ("accelerate", "1.16.0", "Apache-2.0"),
    ("algorithms", "1.0.1", "MIT"),
    ("anyio", "4.16.0", "MIT"),
    ("attrs", "26.1.0", "MIT"),
    ("cattrs", "26.2.1", "MIT"),
    ("click", "8.5.1", "BSD-3-Clause"),
    ("filelock", "4.3.2", "MIT"),
    ("fsspec", "2026.9.0", "BSD-3-Clause"),
    ("huggingface_hub", "2.4.0", "Apache-2.0"),
    ("Jinja2", "3.1.6", "BSD-3-Clause"),
    ("markdown-it-py", "4.3.0", "MIT"),
    ("mpmath", "1.3.0", "BSD-3-Clause"),
    ("mypy", "2.4.1", "MIT"),
    ("networkx", "3.6.1", "BSD-3-Clause"),
    ("numpy", "2.4.6", "BSD-3-Clause AND 0BSD AND MIT"),
    ("packaging", "26.4", "Apache-2.0 OR BSD-2-Clause"),
    ("pip", "23.2.1", "MIT"),
    ("pluggy", "1.7.0", "MIT"),
    ("prometheus_client", "0.26.0", "Apache-2.0 AND BSD-2-Clause"),
    ("psutil", "7.2.2", "BSD-3-Clause"),
    ("pydantic", "2.14.4", "MIT"),
    ("pygls", "2.1.1", "Apache-2.0"),
    ("Pygments", "2.21.0", "BSD-2-Clause"),
    ("pytest", "9.2.0", "MIT"),
    ("PyYAML", "6.0.4", "MIT"),
    ("rich", "15.0.0", "MIT"),
    ("setuptools", "84.2.1", "MIT"),
    ("sortedcontainers", "2.4.0", "Apache-2.0"),
    ("starlette", "1.10.0", "BSD-3-Clause"),
    ("tomlkit", "0.15.3", "MIT"),
    ("typer", "0.29.2", "MIT"),
    ("typing_extensions", "4.16.0", "PSF-2.0"),
    ("uvicorn", "0.55.0", "BSD-3-Clause"),
]
# Packages seen several times an epoch (each time with another FIM split). `algorithms` is small,
# self-contained functions with docstrings, the code a user writes most and library code has
# least of: once, its 0.26 M tokens would be 1.6% of an epoch; eight times, about 11%.
REPEATS = {"algorithms": 8}
# Never trained on, in whatever package they turn up (module or folder names).
NEVER = {"requests", "urllib3", "idna", "charset_normalizer", "certifi"}
VENDORED = {"_vendor", "vendor", "_vendored", "vendored", "extern", "_extern"}


class CorpusError(Exception):
    """A corpus that cannot be built as listed (a package missing or at another version)."""


@dataclass(frozen=True)
class Package:
    """A PyPI distribution trained on: where its files are, its version and licence."""

    name: str
    version: str
    licence: str
    root: Path  # the folder its files are relative to (site-packages)
    files: list[str]  # sorted
    repeats: int = 1  # times each file is trained on per epoch

    def manifest(self) -> dict:
        return {"name": self.name, "version": self.version, "licence": self.licence,
                "source": "PyPI", "root": str(self.root), "files": self.files,
                "repeats": self.repeats}


@dataclass(frozen=True)
class Corpus:
    root: Path
    train: list[str]  # paths relative to root, sorted
    held_out: list[str]
    packages: list[Package] = field(default_factory=list)

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def train_texts(self) -> list[str]:
        """Every training file's text: the listed files, then the packages' (a package's
        `repeats` times)."""
        texts = [self.read(name) for name in self.train]
        for package in self.packages:
            texts += [(package.root / name).read_text(encoding="utf-8")
                      for name in package.files] * package.repeats
        return texts

    def manifest(self) -> dict:
        """What `corpus.json` says: every file trained on and held out, and each package's
        version and licence."""
        return {"root": str(self.root), "train": self.train, "held_out": self.held_out,
                "packages": [package.manifest() for package in self.packages]}


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_corpus() -> Corpus:
    """The standard library's files as listed above."""
    root = stdlib_dir()
    names = sorted(p.name for p in root.glob("*.py") if p.name not in EXCLUDED)
    for package in PACKAGES:
        names += sorted(str(p.relative_to(root)) for p in (root / package).rglob("*.py")
                        if not _is_test(p.relative_to(root)))
    return _split(root, names)


def directory_corpus(root: Path) -> Corpus:
    """Every `*.py` file under `root`; files named in `HELD_OUT` are held out where present."""
    names = sorted(str(p.relative_to(root)) for p in Path(root).rglob("*.py")
                   if not _is_test(p.relative_to(root)))
    return _split(Path(root), names)


def load_corpus(root: Path | None, packages: bool = False) -> Corpus:
    """The standard library's listed files (or those under `root`), with the PyPI packages of
    `PYPI` if `packages`."""
    corpus = stdlib_corpus() if root is None else directory_corpus(root)
    if packages:
        corpus = Corpus(corpus.root, corpus.train, corpus.held_out, pypi_packages())
    return corpus


def pypi_requirements() -> str:
    """The `pip install` line that makes `pypi_packages()` possible."""
    return "pip install " + " ".join(f'"{name}=={version}"' for name, version, _ in PYPI)


def pypi_packages() -> list[Package]:
    """The `PYPI` distributions' Python files as installed, tests and vendored code left out."""
    packages = []
    for name, version, licence in PYPI:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            distribution = None
        if distribution is None or distribution.version != version:
            found = "not installed" if distribution is None else f"{distribution.version} installed"
            raise CorpusError(f"the corpus lists {name}=={version} ({found}); install the "
                              f"listed versions with: {pypi_requirements()}")
        root = Path(str(distribution.locate_file("")))
        files = sorted(str(f) for f in distribution.files or [] if _trainable(Path(str(f))))
        packages.append(Package(name, version, licence, root,
                                [f for f in files if _readable(root / f)],
                                REPEATS.get(name, 1)))
    return packages


def _trainable(relative: Path) -> bool:
    parts = relative.parts
    return (relative.suffix == ".py" and not _is_test(relative)
            and not any(part in VENDORED or part.endswith(".dist-info") for part in parts)
            and not any(part.removesuffix(".py") in NEVER for part in parts))


def _is_test(relative: Path) -> bool:
    return any(part in ("test", "tests", "testing", "__pycache__", "site-packages")
               or part.startswith("test_") for part in relative.parts)


def _split(root: Path, names: list[str]) -> Corpus:
    readable = [n for n in names if _readable(root / n)]
    held = [n for n in readable if n in HELD_OUT]
    return Corpus(root, [n for n in readable if n not in HELD_OUT], held)


def _readable(path: Path) -> bool:
    try:
        path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True
