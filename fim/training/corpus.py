"""The training corpus: a fixed, listed set of the standard library's Python source files.

The files ship with the interpreter (`sysconfig.get_paths()["stdlib"]`); `HELD_OUT` is never
trained on and is what `codellama eval holes` measures the demo model on.
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path

# Packages of the standard library trained on besides its top-level modules (tests, GUI code,
# vendored tools and generated tables left out).
PACKAGES = ["asyncio", "collections", "concurrent", "email", "html", "http", "importlib", "json",
            "logging", "multiprocessing", "re", "tomllib", "unittest", "urllib", "wsgiref",
            "xml", "xmlrpc", "zoneinfo", "dbm", "sqlite3", "ctypes", "curses"]
EXCLUDED = {"this.py", "antigravity.py", "__phello__.foo.py"}
HELD_OUT = ["bisect.py", "colorsys.py", "fnmatch.py", "glob.py", "graphlib.py", "heapq.py",
            "queue.py", "sched.py", "shlex.py", "textwrap.py", "json/encoder.py"]


@dataclass(frozen=True)
class Corpus:
    root: Path
    train: list[str]  # paths relative to root, sorted
    held_out: list[str]

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")


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


def load_corpus(root: Path | None) -> Corpus:
    return stdlib_corpus() if root is None else directory_corpus(root)


def _is_test(relative: Path) -> bool:
    return any(part in ("test", "tests", "__pycache__", "site-packages")
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
