"""NAS-Bench-Macro ground truth (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree
Search", CVPR 2021): CIFAR-10 test accuracy, parameters and FLOPs of an architecture key.

The table format is the benchmark's JSON (../shared/data/nas_bench_macro_cifar10.json):
`{key: {"test_acc": [3 seeds], "mean_acc", "std", "params", "flops"}}`, key = 8 digits, one per layer.
"""
from __future__ import annotations

import bisect
import json
from pathlib import Path

FIELDS = ("test_acc", "mean_acc", "std", "params", "flops")
DATASETS = ("cifar10",)  # the benchmark trained every architecture on CIFAR-10 only


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class MacroTable:
    BENCHMARK = "NAS-Bench-Macro"
    NETWORK_SIZE = {"C": 32}  # the benchmark's stem width
    DATASETS = DATASETS

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"NAS-Bench-Macro table {self.path} does not exist")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{self.path} is not a NAS-Bench-Macro table: not JSON ({e})") from None
        if not isinstance(data, dict) or not data:
            raise ValueError(f"{self.path} is not a NAS-Bench-Macro table: expected a non-empty {{key: {{...}}}} object")
        for key, row in data.items():
            missing = set(FIELDS) - set(row) if isinstance(row, dict) else set(FIELDS)
            if missing:
                raise ValueError(f"{self.path} is not a NAS-Bench-Macro table: {key!r} lacks {sorted(missing)}")
            seeds = row["test_acc"]
            numbers = [row[f] for f in FIELDS if f != "test_acc"] + (seeds if isinstance(seeds, list) else [seeds])
            if not isinstance(seeds, list) or not all(_is_number(v) for v in numbers):
                raise ValueError(f"{self.path}: the row of {key!r} holds a value that is not a number "
                                 f"(mean_acc {row['mean_acc']!r}; test_acc must be a list of numbers)")
        self._rows: dict[str, dict] = {k: {f: row[f] for f in FIELDS} for k, row in data.items()}
        self._sorted_acc = sorted(row["mean_acc"] for row in self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, arch) -> bool:
        return str(arch) in self._rows

    def archs(self) -> list[str]:
        return list(self._rows)

    def lookup(self, arch) -> dict:
        """The table's row: test_acc (per seed), mean_acc, std (%), params, flops."""
        try:
            row = self._rows[str(arch)]
        except KeyError:
            raise KeyError(f"arch {str(arch)!r} is not in {self.path}") from None
        return {**row, "test_acc": list(row["test_acc"])}

    def test_accuracy(self, arch, dataset: str = "cifar10") -> float:
        """Mean CIFAR-10 test accuracy (%) over the benchmark's 3 training seeds."""
        if dataset not in DATASETS:
            raise ValueError(f"NAS-Bench-Macro has CIFAR-10 accuracies only, not {dataset!r}")
        return float(self.lookup(arch)["mean_acc"])

    def rank(self, arch) -> int:
        """1 for the most accurate architecture (by mean_acc); ties share the better rank."""
        acc = self.test_accuracy(arch)
        return 1 + len(self._sorted_acc) - bisect.bisect_right(self._sorted_acc, acc)

    def report(self, arch) -> dict:
        """What a search run records about its genotype (genotype.json's `benchmark`)."""
        row = self.lookup(arch)
        return {"test_accuracy": row["mean_acc"], "test_accuracy_seeds": row["test_acc"], "std": row["std"],
                "params": row["params"], "flops": row["flops"], "rank": self.rank(arch), "of": len(self)}

    def describe(self, arch) -> str:
        r = self.report(arch)
        return (f"NAS-Bench-Macro CIFAR-10 test accuracy {r['test_accuracy']:.2f}% (mean of 3), rank {r['rank']} "
                f"of {r['of']}, {r['params']:,} params, {r['flops']:,} FLOPs")
