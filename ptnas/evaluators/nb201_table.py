"""NAS-Bench-201 ground truth: test accuracy of an arch string, looked up in a table file.

The table format is the CSV of ../shared/data/nb201_test_accuracy.csv: columns `arch`, `cifar10`,
`cifar100`, `imagenet16_120` (test accuracy %, 200-epoch training, mean over seeds).
"""
from __future__ import annotations

import csv
from pathlib import Path

DATASETS = ("cifar10", "cifar100", "imagenet16_120")


class NB201Table:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"NAS-Bench-201 table {self.path} does not exist")
        self._rows: dict[str, dict[str, float]] = {}
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"arch", *DATASETS} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{self.path} is not a NAS-Bench-201 table: missing columns {sorted(missing)}")
            for row in reader:
                self._rows[row["arch"]] = {d: float(row[d]) for d in DATASETS}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, arch: str) -> bool:
        return str(arch) in self._rows

    def archs(self) -> list[str]:
        return list(self._rows)

    def test_accuracy(self, arch, dataset: str = "cifar10") -> float:
        if dataset not in DATASETS:
            raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; choose from: {', '.join(DATASETS)}")
        return self.lookup(arch)[dataset]

    def lookup(self, arch) -> dict[str, float]:
        """Test accuracy (%) on every dataset of the table."""
        try:
            return dict(self._rows[str(arch)])
        except KeyError:
            raise KeyError(f"arch {str(arch)!r} is not in {self.path}") from None

    def report(self, arch) -> dict:
        """What a search run records about its genotype (genotype.json's `benchmark`)."""
        return {"test_accuracy": self.lookup(arch)}

    def describe(self, arch) -> str:
        return "NAS-Bench-201 test accuracy: " + ", ".join(f"{k} {v:.2f}%" for k, v in self.lookup(arch).items())
