"""Latency on the target device: a lookup table of per-(edge, op) latencies of a space at one size, measured
op module by op module the way ProxylessNAS (Cai et al., ICLR 2019, its latency predictor) and FBNet (Wu et
al., CVPR 2019, Eq. 5's LUT) built theirs, and a network's latency predicted from it as
fixed + Σ table[edge][op] over the genotype's choices.

Every latency is the median (or, asked, the minimum) of `repeats` timed eval-mode, `torch.no_grad` forwards of a batch-1 input after
`warmup` untimed ones (CUDA synchronised around each timed one), in milliseconds. The table's modules are
the cost model's (`SearchSpace.layout`: each distinct (op, args, input shape) measured once, summed over the
slots where an edge's op runs); `fixed` is the measured whole reference network minus the sum of its ops'
entries, so the table predicts the reference exactly (what it was measured against) and every other network
by additivity. `check` measures random networks whole against the prediction.

    table = latency.build("mobilenet", device="cpu", threads=1)      # or ptnas-latency
    table.save("mobilenet-cpu.json"); table = latency.load("mobilenet-cpu.json", space="mobilenet")
    table.predict(genotype)                                          # ms
    model = table.cost_model()                                       # space.cost_model(**size).with_latency(table)
    model.allowed(supernet, edge, max_latency=20.0)
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ptnas import atomic, jsonio
from ptnas import device as devices
from ptnas.rank_correlation import spearman
from ptnas.spaces import cost

if TYPE_CHECKING:
    from ptnas.spaces.base import SearchSpace

FORMAT = "ptnas-latency-table"
VERSION = 1
REPEATS = 30  # timed forwards per module (their median is the latency)
WARMUP = 10  # untimed forwards before them
STATISTICS = {"median": statistics.median, "min": min}  # of the timed forwards; min is robust to other processes


@dataclass(frozen=True)
class Timing:
    """How a latency is measured: on `device`, with `threads` torch intra-op threads (None: as set), in
    channels_last memory format where the space runs in it (`SearchSpace.channels_last`); `statistic` of the
    `repeats` timed forwards: "median" (the default) or "min" (the fastest, what timeit recommends where other
    processes share the machine)."""

    device: str = "cpu"
    repeats: int = REPEATS
    warmup: int = WARMUP
    threads: int | None = None
    channels_last: bool = False
    statistic: str = "median"

    def __post_init__(self):
        if self.repeats < 1 or self.warmup < 0:
            raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={self.repeats}, warmup={self.warmup}")
        if self.statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {self.statistic!r}; choose from: {', '.join(STATISTICS)}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    @torch.no_grad()
    def module(self, module: nn.Module | None, shape: tuple[int, ...]) -> float:
        """Milliseconds of one eval-mode forward of (a copy of) `module` on an input of `shape`; None costs 0
        (an identity module is measured like any other)."""
        if module is None:
            return 0.0
        device = devices.resolve(self.device)
        fmt = torch.channels_last if self.channels_last and len(shape) == 4 else torch.contiguous_format
        module = copy.deepcopy(module).eval().to(device, memory_format=fmt)
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)).to(device, memory_format=fmt)

        def sync():
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        with torch_threads(self.threads):
            for _ in range(self.warmup):
                module(x)
            sync()
            times = []
            for _ in range(self.repeats):
                start = time.perf_counter()
                module(x)
                sync()
                times.append(time.perf_counter() - start)
        return 1000 * STATISTICS[self.statistic](times)

    def network(self, network: nn.Module, input_size: int) -> float:
        """`module` of a whole network on one 3×input_size×input_size image."""
        return self.module(network, (1, 3, input_size, input_size))


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to `n` for the block (None: left alone), then restored."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def measure_network(network: nn.Module, input_size: int, **timing: Any) -> float:
    """Milliseconds of one batch-1 eval forward of a whole network (`Timing(**timing).network`)."""
    return Timing(**timing).network(network, input_size)


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the OS has none): recorded with every measurement,
    since other processes on the machine slow it down."""
    with contextlib.suppress(OSError, AttributeError):
        return round(os.getloadavg()[0], 2)
    return None


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model name (from /proc/cpuinfo where there is one)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@dataclass
class LatencyTable:
    """Measured latencies (ms) of a space at one size on one device: `fixed` + Σ `ops[edge][op]` predicts a
    network's. `size` holds `SearchSpace.cost_arguments` (num_classes, input_size and the size keywords);
    `timing` how each entry was measured; `check` the prediction error on random networks, once measured."""

    space: str
    size: dict[str, Any]
    device: str
    device_name: str
    threads: int
    torch_version: str
    timing: dict[str, Any]
    fixed: float
    reference: float  # the measured whole reference network, ms
    ops: dict[str, dict[str, float]]
    build_seconds: float
    check: dict[str, Any] | None = None
    _model: Any = field(default=None, init=False, repr=False, compare=False)

    # ---- use ---------------------------------------------------------------------------------------
    def timer(self) -> Timing:
        """The `Timing` the table was measured with (its device must be present here)."""
        return Timing(self.device, self.timing["repeats"], self.timing["warmup"], self.threads,
                      self.timing["memory_format"] == "channels_last", self.timing["statistic"])

    def measure_network(self, network: nn.Module) -> float:
        """A whole network measured the way the table was, at the table's input size."""
        return self.timer().network(network, self.size["input_size"])

    def cost_model(self) -> cost.CostModel:
        """The space's cost model at the table's size, with latency (`CostModel.with_latency`)."""
        if self._model is None:
            from ptnas import spaces

            self._model = spaces.get(self.space).cost_model(**self.size).with_latency(self)
        return self._model

    def predict(self, genotype: Hashable) -> float:
        """The genotype's latency in ms: fixed + Σ its entries; a genotype the table does not describe (a
        MobileNet genotype with its own widths, a DARTS cell concatenating fewer nodes) is measured whole
        on the table's device instead."""
        from ptnas import spaces

        if isinstance(genotype, str):
            genotype = spaces.get(self.space).parse(genotype)
        return self.cost_model().of(genotype).latency

    # ---- files -------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.init}
        return {"format": FORMAT, "version": VERSION, "unit": "ms", **data}

    def save(self, path: str | Path) -> Path:
        """Written atomically (a reader sees the old file or the new one)."""
        return atomic.write_text(path, jsonio.dumps(self.to_json(), indent=1) + "\n")


def load(path: str | Path, space: str | None = None, size: Mapping[str, Any] | None = None) -> LatencyTable:
    """A saved table; ValueError (one line) for a missing or malformed file, or one of another `space`, or
    of another size than `size` (cost-model keywords as `SearchSpace.cost_model` takes them, defaults
    filled in)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"latency table {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"latency table {path}: not JSON ({e.msg}, line {e.lineno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"latency table {path}: cannot read it ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"latency table {path}: not a ptnas latency table (no \"format\": \"{FORMAT}\"); "
                         "ptnas-latency writes them")
    if data.get("version") != VERSION:
        raise ValueError(f"latency table {path}: version {data.get('version')!r}, this ptnas reads version {VERSION}")
    try:
        table = LatencyTable(**{k: v for k, v in data.items() if k not in ("format", "version", "unit")})
        table.fixed, table.reference = float(table.fixed), float(table.reference)
        table.ops = {str(e): {str(o): float(ms) for o, ms in row.items()} for e, row in table.ops.items()}
    except (TypeError, AttributeError, ValueError) as e:
        raise ValueError(f"latency table {path}: malformed ({e})") from None
    if space is not None and table.space != space:
        raise ValueError(f"latency table {path} is of the {table.space} space, not {space}")
    if size is not None:
        from ptnas import spaces

        wanted = spaces.get(table.space).cost_arguments(**size)
        if table.size != wanted:
            raise ValueError(f"latency table {path} is of size {_shown(table.size)}, not {_shown(wanted)}; "
                             "measure one at that size (ptnas-latency)")
    return table


def _shown(size: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in size.items())


def _space(space: str | SearchSpace) -> SearchSpace:
    from ptnas import spaces

    return spaces.get(space) if isinstance(space, str) else space


# ---- building and checking -------------------------------------------------------------------------
def build(space: str | SearchSpace, device: str = "cpu", repeats: int = REPEATS, warmup: int = WARMUP,
          threads: int | None = None, statistic: str = "median", progress: bool = False, **size: Any) -> LatencyTable:
    """Measure the table of `space` at `size` (`SearchSpace.cost_model`'s keywords: num_classes, input_size,
    the space's size keywords; defaults as there) on `device`."""
    from tqdm import tqdm

    space = _space(space)
    resolved = devices.resolve(device)
    timer = Timing(str(resolved), repeats, warmup, threads, space.channels_last, statistic)
    start, load_before = time.perf_counter(), load_average()
    arguments = space.cost_arguments(**size)
    layout = space.build_layout(**arguments)
    bar = tqdm(total=layout.distinct() + 1, desc=f"{space.name} latency table", leave=False, dynamic_ncols=True,
               disable=not progress)

    def measure(module, shape):
        ms = timer.module(module, shape)
        bar.update()
        return cost.Cost(0, 0, ms)

    def whole(network, input_size):
        ms = timer.network(network, input_size)
        bar.update()
        return cost.Cost(0, 0, ms)

    with bar:
        fixed, table = cost.additive(layout, measure, whole)
    reference = fixed.latency + sum(table[e][o].latency for e, o in layout.choices(layout.reference))
    return LatencyTable(
        space=space.name, size=arguments, device=str(resolved), device_name=device_name(resolved),
        threads=threads or torch.get_num_threads(),
        torch_version=torch.__version__,
        timing={"batch": 1, "repeats": repeats, "warmup": warmup, "statistic": statistic, "mode": "eval, no_grad",
                "memory_format": "channels_last" if space.channels_last else "contiguous",
                "load_average": [load_before, load_average()]},
        fixed=fixed.latency, reference=reference,
        ops={e: {o: c.latency for o, c in row.items()} for e, row in table.items()},
        build_seconds=time.perf_counter() - start)


def check(table: LatencyTable, networks: int, seed: int = 0, progress: bool = False,
          on_network: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The table's prediction error on `networks` random genotypes (`space.sample`, NumPy seed `seed`; torch
    seeded too, for the weights): each measured whole (`table.measure_network`) against `predict`. Returns
    the mean absolute percentage error, the largest one, the Spearman rank correlation, every pair, and the
    machine's load average before and after."""
    from tqdm import tqdm

    if networks < 2:
        raise ValueError(f"a check needs at least 2 networks (a rank correlation), got {networks}")
    space = _space(table.space)
    model = table.cost_model()
    sizes = {k: v for k, v in table.size.items() if k not in ("num_classes", "input_size")}
    sampler = space.at_size(**sizes)
    rng = np.random.default_rng(seed)
    pairs = []
    start, load_before = time.perf_counter(), load_average()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in tqdm(range(networks), desc="whole networks", leave=False, dynamic_ncols=True, disable=not progress):
            genotype = sampler.sample(rng)
            pair = {"genotype": str(genotype), "predicted": model.of(genotype).latency,
                    "measured": table.measure_network(model.network(genotype))}
            pairs.append(pair)
            if on_network is not None:
                on_network(pair)
    return {"networks": networks, "seed": seed, "seconds": time.perf_counter() - start,
            "load_average": [load_before, load_average()], **errors(pairs), "pairs": pairs}


def errors(pairs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean and largest absolute percentage error of `predicted` against `measured`, the largest absolute
    error in ms, the mean signed percentage error (bias) and the Spearman rank correlation."""
    predicted = np.array([p["predicted"] for p in pairs], dtype=float)
    measured = np.array([p["measured"] for p in pairs], dtype=float)
    relative = 100 * (predicted - measured) / measured
    rho = spearman(predicted, measured)
    return {"mape_percent": float(np.mean(np.abs(relative))), "max_error_percent": float(np.max(np.abs(relative))),
            "max_error_ms": float(np.max(np.abs(predicted - measured))), "bias_percent": float(np.mean(relative)),
            "spearman": float(rho)}
