"""NAS-Bench-201 ground truth: accuracies and parameter count of an arch string, from a table file.

Two sources, one interface (`open_table(path)` picks by what the path is):
- `NB201Table`: the CSV of ../shared/data/nb201_test_accuracy.csv: columns `arch`, `cifar10`,
  `cifar100`, `imagenet16_120` (test accuracy %, 200-epoch training, mean over seeds). Optional
  columns `<dataset>_valid` (validation accuracy %) and `<dataset>_params` (parameter count) are read
  when present. Without a params column the count comes from building the benchmark's network (C=16,
  N=5, the dataset's classes), which equals the benchmark's own figure.
- `NATSBenchTable`: the official API (`nats_bench` topology benchmark, or the older `nas_201_api`),
  when that package and its benchmark file are installed: test and validation accuracy (hp=200,
  mean over seeds) and params, for every dataset.
"""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

DATASETS = ("cifar10", "cifar100", "imagenet16_120")
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16_120": 120}
# Names the official API uses: CIFAR-10 test accuracy is that of the train+valid run ("cifar10"),
# CIFAR-10 validation accuracy that of the train-only run ("cifar10-valid").
_API_TEST = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16_120": "ImageNet16-120"}
_API_VALID = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "imagenet16_120": "ImageNet16-120"}


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; choose from: {', '.join(DATASETS)}")


def count_params(arch, dataset: str = "cifar10") -> int:
    """Parameters of the benchmark's network for `arch` (C=16, N=5) with the dataset's classifier."""
    from ptnas import spaces  # the space is only needed when a table has no params column

    net = spaces.get("nb201").network(str(arch), num_classes=NUM_CLASSES[dataset], C=16, N=5)
    return sum(p.numel() for p in net.parameters())


class _Reports:
    """What a search run records and prints about its genotype (`search.py --table`), and what the table is:
    its benchmark's name, the size of the networks it trained and the datasets it has accuracies for."""

    BENCHMARK = "NAS-Bench-201"
    NETWORK_SIZE = {"C": 16, "N": 5}
    DATASETS = DATASETS

    def report(self, arch) -> dict:
        return {"test_accuracy": self.lookup(arch)}

    def describe(self, arch) -> str:
        return "NAS-Bench-201 test accuracy: " + ", ".join(f"{k} {v:.2f}%" for k, v in self.lookup(arch).items())


class NB201Table(_Reports):
    """The CSV table: test accuracy per dataset, optional validation accuracy and params columns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"NAS-Bench-201 table {self.path} does not exist")
        self._rows: dict[str, dict[str, float]] = {}
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = set(reader.fieldnames or [])
            missing = {"arch", *DATASETS} - columns
            if missing:
                raise ValueError(f"{self.path} is not a NAS-Bench-201 table: missing columns {sorted(missing)}")
            self._extra = [c for d in DATASETS for c in (f"{d}_valid", f"{d}_params") if c in columns]
            for row in reader:
                arch = row["arch"]
                if not arch or not arch.startswith("|") or None in row:
                    raise ValueError(f"{self.path}, line {reader.line_num}: not a row of the table "
                                     f"(an arch string and {len(columns)} columns expected)")
                values = {c: self._number(row, c, reader.line_num)
                          for c in (*DATASETS, *self._extra) if row[c] not in ("", None)}
                if arch in self._rows and self._rows[arch] != values:
                    raise ValueError(f"{self.path}, line {reader.line_num}: {arch} is in the table twice, with "
                                     "different values")
                self._rows[arch] = values

    def _number(self, row: dict, column: str, line: int) -> float:
        try:
            return float(row[column])
        except ValueError:
            raise ValueError(f"{self.path}, line {line}: {column} of {row['arch']} is {row[column]!r}, "
                             "not a number") from None

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, arch: object) -> bool:
        return str(arch) in self._rows

    def archs(self) -> list[str]:
        return list(self._rows)

    def test_accuracy(self, arch, dataset: str = "cifar10") -> float:
        _check_dataset(dataset)
        return self._row(arch)[dataset]

    def valid_accuracy(self, arch, dataset: str = "cifar10") -> float:
        _check_dataset(dataset)
        row = self._row(arch)
        if f"{dataset}_valid" not in row:
            raise KeyError(f"{self.path} has no {dataset} validation accuracy (no {dataset}_valid column); "
                           "the official benchmark file through nats_bench has it")
        return row[f"{dataset}_valid"]

    def params(self, arch, dataset: str = "cifar10") -> int:
        _check_dataset(dataset)
        row = self._row(arch)
        if f"{dataset}_params" in row:
            return int(row[f"{dataset}_params"])
        return count_params(arch, dataset)

    def lookup(self, arch) -> dict[str, float]:
        """Test accuracy (%) on every dataset of the table."""
        row = self._row(arch)
        return {d: row[d] for d in DATASETS}

    def _row(self, arch) -> dict[str, float]:
        try:
            return self._rows[str(arch)]
        except KeyError:
            raise KeyError(f"arch {str(arch)!r} is not in {self.path}") from None


class NATSBenchTable(_Reports):
    """The official API: `nats_bench` (NATS-Bench topology, 'tss') or `nas_201_api` (NAS-Bench-201).

    path: the benchmark file (or, for nats_bench's fast mode, its directory).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"NAS-Bench-201 benchmark {self.path} does not exist")
        if importlib.util.find_spec("nats_bench") is not None:
            import nats_bench

            self._api = nats_bench.create(str(self.path), "tss", fast_mode=self.path.is_dir(), verbose=False)
        elif importlib.util.find_spec("nas_201_api") is not None:
            from nas_201_api import NASBench201API

            self._api = NASBench201API(str(self.path), verbose=False)
        else:
            raise ValueError(f"{self.path} is not a CSV table (.csv), and neither nats_bench nor nas_201_api is "
                             "installed to read it as the official benchmark file (pip install nats_bench)")

    def __len__(self) -> int:
        return len(self._api)

    def __contains__(self, arch: object) -> bool:
        return self._api.query_index_by_arch(str(arch)) >= 0

    def archs(self) -> list[str]:
        return [self._api.arch(i) for i in range(len(self._api))]

    def _info(self, arch, api_dataset: str) -> dict:
        index = self._api.query_index_by_arch(str(arch))
        if index < 0:
            raise KeyError(f"arch {str(arch)!r} is not in {self.path}")
        return self._api.get_more_info(index, api_dataset, hp="200", is_random=False)

    def test_accuracy(self, arch, dataset: str = "cifar10") -> float:
        _check_dataset(dataset)
        return float(self._info(arch, _API_TEST[dataset])["test-accuracy"])

    def valid_accuracy(self, arch, dataset: str = "cifar10") -> float:
        _check_dataset(dataset)
        return float(self._info(arch, _API_VALID[dataset])["valid-accuracy"])

    def params(self, arch, dataset: str = "cifar10") -> int:
        _check_dataset(dataset)
        index = self._api.query_index_by_arch(str(arch))
        return round(self._api.get_cost_info(index, _API_TEST[dataset], hp="200")["params"] * 1e6)

    def lookup(self, arch) -> dict[str, float]:
        return {d: self.test_accuracy(arch, d) for d in DATASETS}


def open_table(path: str | Path) -> NB201Table | NATSBenchTable:
    """A CSV path gives `NB201Table`; anything else is read through the official API, except a
    NAS-Bench-Macro JSON table, which is refused with a ValueError saying what nb201 needs."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return NB201Table(path)
    if _is_macro_table(path):
        raise ValueError(f"{path} is a NAS-Bench-Macro table (--space macro); --space nb201 needs the NAS-Bench-201 "
                         "CSV (columns arch, cifar10, cifar100, imagenet16_120) or the official benchmark file "
                         "(nats_bench / nas_201_api)")
    return NATSBenchTable(path)


def _is_macro_table(path: Path) -> bool:
    """Whether `path` is NAS-Bench-Macro's JSON: `{key: {"mean_acc": ..., ...}}`."""
    if not path.is_file() or path.suffix.lower() != ".json":
        return False
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    first = next(iter(data.values()), None) if isinstance(data, dict) else None
    return isinstance(first, dict) and "mean_acc" in first
