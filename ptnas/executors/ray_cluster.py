"""The Ray executor (`--executor ray`, `pip install "ptnas[ray]"`): W Ray actors, each holding its own
evaluator (built once per worker from the search's settings, the data loaded once) and one GPU, or one CPU
core on `--device cpu`; each evaluation is a call of an idle actor, and `next()` hands back whichever
finishes first. It starts a local Ray on this machine, or joins the cluster at `--ray-address`.

A worker that dies (its process killed, its machine lost) is replaced by a new actor, which Ray may place
elsewhere, and its evaluation is tried once more there; a second loss records the evaluation `failed`. An
error the evaluator raises (a bad setting, missing data) ends the search with its own one-line message.
"""
from __future__ import annotations

from typing import Callable, Hashable

from ptnas.evaluators.base import Evaluator, Record
from ptnas.executors.base import Executor
from ptnas.settings import Setting

INSTALL = 'pip install "ptnas[ray]"'


class _Worker:
    """One Ray actor: the evaluator, built where the actor runs."""

    def __init__(self, build: Callable[[], Evaluator]):
        self.evaluator = build()
        self.evaluator.prepare()

    def ready(self) -> bool:
        return True

    def evaluate(self, genotype) -> Record:
        return self.evaluator.evaluate([genotype])[0]


def _ray():
    try:
        import ray
    except ImportError:
        raise ValueError(f"--executor ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


class RayCluster(Executor):
    name = "ray"
    SETTINGS = (Setting("ray_address", str, None, metavar="ADDRESS",
                        help="ray: join the Ray cluster at ADDRESS (e.g. HOST:6379, or auto) instead of starting "
                             "a local Ray on this machine"),)

    def __init__(self, build: Callable[[], Evaluator], jobs: int | None = None, gpus: bool = False,
                 address: str | None = None):
        ray = self.ray = _ray()
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=True,
                     configure_logging=True)
        resource = "GPU" if gpus else "CPU"
        have = int(ray.cluster_resources().get(resource, 0))
        self.workers = jobs if jobs is not None else have
        if not 1 <= self.workers <= have:
            self.close()
            raise ValueError(f"--jobs {self.workers} needs {self.workers} {resource}s of the Ray cluster, which has "
                             f"{have}" if self.workers >= 1 else f"the Ray cluster has no {resource}")
        self.build = build
        self.actor_class = ray.remote(num_cpus=1, num_gpus=1 if gpus else 0)(_Worker)
        self.idle = [self.actor_class.remote(build) for _ in range(self.workers)]
        self.running: dict = {}  # future -> (actor, genotype, tries)
        try:  # every worker has built its evaluator (its data loaded) before the search starts
            ray.get([actor.ready.remote() for actor in self.idle])
        except ray.exceptions.RayActorError as e:
            self.close()
            cause = getattr(e, "cause", None) or getattr(getattr(e, "error", None), "cause", None)
            why = " ".join(str(cause or e).split())[-300:]
            raise ValueError(f"a Ray worker could not build the evaluator: {why}") from None

    @classmethod
    def from_args(cls, args, evaluator, build, process) -> "RayCluster":
        if process is not None and process.distributed:
            raise ValueError("--executor ray runs without torchrun: Ray spreads the evaluations itself")
        return cls(build, args.jobs, gpus=process is not None and process.device.type == "cuda",
                   address=args.ray_address)

    def submit(self, genotype: Hashable, tries: int = 0) -> None:
        actor = self.idle.pop()
        self.running[actor.evaluate.remote(genotype)] = (actor, genotype, tries)

    def next(self) -> tuple[str, Record]:
        ray = self.ray
        while True:
            [future], _ = ray.wait(list(self.running), num_returns=1)
            actor, genotype, tries = self.running.pop(future)
            try:
                record = ray.get(future)
            except ray.exceptions.RayActorError as e:  # the worker died: a new one, and one more try
                ray.kill(actor, no_restart=True)
                self.idle.append(self.actor_class.remote(self.build))
                if tries == 0:
                    self.submit(genotype, tries=1)
                    continue
                why = " ".join(str(e).split())[:200]
                return str(genotype), Record(str(genotype), None, "failed",
                                             reason=f"the Ray worker died twice while evaluating it ({why})")
            except ray.exceptions.RayTaskError as e:  # the evaluator raised: the search ends with its error
                raise (e.cause if isinstance(e.cause, Exception) else RuntimeError(str(e))) from None
            self.idle.append(actor)
            return str(genotype), record

    def close(self) -> None:
        for actor in [*getattr(self, "idle", []), *(a for a, _, _ in getattr(self, "running", {}).values())]:
            self.ray.kill(actor, no_restart=True)
        self.idle, self.running = [], {}
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
