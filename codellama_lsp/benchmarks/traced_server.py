"""`python -m codellama_lsp.benchmarks.traced_server FOLDER`: the language server (`codellama lsp`)
whose allocations are traced from the first SIGUSR1 on; each SIGUSR1 writes a snapshot of the
live Python allocations made since then to FOLDER/snapshot-N.pickle (N = 1, 2, ...), for
`codellama bench memory --tracemalloc`. Tracing starts late because it slows Python several
times over: loading torch and the model under it takes minutes.
"""

from __future__ import annotations

import gc
import itertools
import signal
import sys
import tracemalloc
from pathlib import Path

FRAMES = 12  # frames kept per allocation: enough to see who called the allocating line


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    numbers = itertools.count(1)

    def dump(signum: int, frame: object) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        gc.collect()  # only what is still referenced
        snapshot = tracemalloc.take_snapshot()
        number = next(numbers)
        partial = folder / f"snapshot-{number}.tmp"
        snapshot.dump(str(partial))
        partial.rename(folder / f"snapshot-{number}.pickle")  # whole, or not there

    signal.signal(signal.SIGUSR1, dump)
    from codellama_lsp.cli import main as cli

    return cli(["lsp", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
