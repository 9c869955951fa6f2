"""Typo tolerance for catalogue search: an unknown word is read as the nearest known word.

"reedem" → redeem, "tranfer" → transfer, "cupon" → coupon, "balence" → balance. A word is
corrected only when no known word has its stem (known: every word of the catalogue and of the
search vocabulary, and ordinary words listed as not typos), and only into a target word: one
that names what operations do (their names, titles and keywords, the vocabulary's maps).
Candidates come from a table of each target word with up to two letters deleted (the symmetric-delete method), so a look-up costs a
few dozen dictionary probes rather than a scan; each candidate is then confirmed with the
Damerau-Levenshtein distance (a swap of two neighbouring letters counts as one edit). The
table is built on the first unknown word, not before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

MIN_LENGTH = 5  # shorter words are too easily another word with one letter changed
TWO_EDITS_FROM = 7  # words this long may be two edits away; shorter ones one


class Spelling:
    """Nearest target word within one edit (two for long words), ties broken by how common the word is."""

    def __init__(self, targets: Mapping[str, int], known: Iterable[str], stem: Callable[[str], str]) -> None:
        self.targets = dict(targets)
        self.stem = stem
        self.known = {stem(word) for word in (*known, *targets)}
        self._table: dict[str, list[str]] | None = None
        # No word longer than this is within two edits of a target (a 20 KB "word" would otherwise have its
        # hundreds of millions of two-letter deletions listed).
        self._longest = max((len(word) for word in self.targets), default=0) + 2

    def is_known(self, word: str) -> bool:
        return word in self.known or self.stem(word) in self.known

    def correct(self, word: str) -> tuple[str, int] | None:
        """(target word, edits) for a word that is not known, or None when nothing is close enough."""
        if not MIN_LENGTH - 1 <= len(word) <= self._longest or not word.isalpha() or self.is_known(word):
            return None
        table = self._deletes_table()
        if len(word) < MIN_LENGTH:  # a short word is corrected only for a dropped letter: "isue" is "issue"
            found = [c for c in table.get(word, ()) if len(c) == len(word) + 1 and c[0] == word[0]]
            return (min(found, key=lambda c: (-self.targets[c], c)), 1) if found else None
        limit = 2 if len(word) >= TWO_EDITS_FROM else 1
        candidates: set[str] = set()
        for variant in _deletes(word, limit):
            candidates.update(table.get(variant, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            if abs(len(candidate) - len(word)) > limit or (candidate[0] != word[0] and candidate[:2] != word[1::-1]):
                continue  # people rarely get the first letter wrong; a swapped first pair is allowed
            edits = distance(word, candidate, limit)
            if edits <= limit:
                key = (edits, -self.targets[candidate], candidate)
                if best is None or key < best:
                    best = key
        return None if best is None else (best[2], best[0])

    def _deletes_table(self) -> dict[str, list[str]]:
        if self._table is None:
            table: dict[str, list[str]] = {}
            for word in sorted(self.targets):
                if len(word) < MIN_LENGTH - 1 or not word.isalpha():
                    continue
                for variant in _deletes(word, 2 if len(word) >= TWO_EDITS_FROM - 1 else 1):
                    table.setdefault(variant, []).append(word)
            self._table = table
        return self._table


def _deletes(word: str, depth: int) -> set[str]:
    """The word and every string made by deleting up to `depth` of its letters."""
    found = {word}
    frontier: Iterable[str] = (word,)
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= set(frontier)
    return found


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap neighbours); limit+1 when larger."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]
