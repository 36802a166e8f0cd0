"""Count the words of a text file: an example file to try completions on."""

import sys
from collections import Counter


def read_words(path):
    """Return the lowercased words of the file at path."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text.lower().split()


def most_common(words, n=10):
    """Return the n most common words with their counts."""
    counts = Counter(words)
    return counts.most_common(n)


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    for path in argv:
        words = read_words(path)
        for word, count in most_common(words):
            print(f"{count:7d} {word}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
