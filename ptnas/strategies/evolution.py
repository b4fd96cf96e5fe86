"""Regularised (aging) evolution (Real et al., "Regularized Evolution for Image Classifier Architecture
Search", AAAI 2019): a population of P evaluated architectures; each step samples S of them, mutates the
best (one edit at distance 1), evaluates the child, adds it and removes the oldest member. Asynchronous
(the paper's own form, with W workers): a child is asked whenever a worker is free, from the members told
so far; members are aged by the order their records arrive. With one evaluation in flight it is the
sequential algorithm.

Zero-cost variants (Abdelfattah et al., ICLR 2021, §5): with a warm-up of W ≥ P random architectures
scored by the proxy, the first population is the proxy's top P (W = 2P is the NASWOT authors' AREA);
with move proposal, the child is the tournament winner's neighbour with the best proxy score among all
its neighbours (or R sampled ones) that were not evaluated yet (all of them when every one was; without
this rule a deterministic proposal keeps re-proposing the same child). A child evaluated before is answered from memory and costs no
evaluation; the defaults P = 64, S = 10 are those of the zero-cost authors' released example.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from ptnas.settings import Setting
from ptnas.strategies.base import GIVE_UP_AFTER, WARMUP, ProxyScores, Strategy
from ptnas.strategies.random_search import warmup_order

POPULATION, TOURNAMENT = 64, 10


class Evolution(Strategy):
    name = "evolution"
    SETTINGS = (
        WARMUP,
        Setting("population", int, POPULATION, minimum=1, metavar="P", help="evolution: population size"),
        Setting("tournament", int, TOURNAMENT, minimum=1, metavar="S", help="evolution: members sampled per tournament"),
        Setting("move_proposal", int, None, minimum=0, const=0, metavar="R",
                help="evolution: the child is the winner's neighbour with the best --proxy score, among all "
                     "neighbours (no value or 0) or R sampled ones (Abdelfattah §5.2)"),
    )

    def __init__(self, population: int = POPULATION, tournament: int = TOURNAMENT, warmup: int = 0,
                 move_proposal: int | None = None):
        if population < 1 or not 1 <= tournament <= population:
            raise ValueError(f"evolution needs --population P >= 1 and 1 <= --tournament S <= P, got P={population}, "
                             f"S={tournament}")
        if warmup and warmup < population:
            raise ValueError(f"--warmup {warmup} is smaller than --population {population}: the warm-up must score "
                             "at least P architectures to seed the population with its top P")
        if warmup < 0 or (move_proposal is not None and move_proposal < 0):
            raise ValueError("--warmup and --move-proposal must be at least 0")
        self.population, self.tournament, self.warmup, self.move = population, tournament, warmup, move_proposal

    @classmethod
    def from_args(cls, args) -> "Evolution":
        return cls(args.population, args.tournament, args.warmup, args.move_proposal)

    @property
    def wants_proxy(self) -> bool:
        return self.warmup > 0 or self.move is not None

    def describe(self) -> dict:
        return {"strategy": self.name, "population": self.population, "tournament": self.tournament,
                "warmup": self.warmup, "move_proposal": self.move}

    def start(self, space, proxy: ProxyScores | None, rng: np.random.Generator) -> None:
        self.space, self.proxy, self.rng = space, proxy, rng
        if self.warmup:
            first = warmup_order(space, proxy, self.warmup, rng)[:self.population]
        else:
            first = [space.sample(rng) for _ in range(self.population)]
        self.first = deque(first)  # the first population, asked before any child
        self.members: deque = deque()  # (genotype, record) in the order they were told; the oldest leaves
        self.asked: set[str] = set()
        self.stale = 0  # children in a row that were asked before

    def ask(self):
        if self.first:
            genotype = self.first.popleft()
        elif self.stale >= GIVE_UP_AFTER:
            self.finished = True
            return None
        elif len(self.members) < self.tournament:
            return None  # asynchronous: wait until a tournament can be held
        else:
            picked = self.rng.choice(len(self.members), size=self.tournament, replace=False)
            parent = max((self.members[i] for i in sorted(picked)), key=lambda m: m[1].merit())[0]
            genotype = self._child(parent)
            self.stale = self.stale + 1 if str(genotype) in self.asked else 0
        self.asked.add(str(genotype))
        return genotype

    def tell(self, genotype, record) -> None:
        self.members.append((genotype, record))
        if len(self.members) > self.population:
            self.members.popleft()

    def details(self, proxy: ProxyScores | None) -> dict:
        return {"proxy_evaluations": 0 if proxy is None else proxy.count}

    def _child(self, parent):
        if self.move is None:
            return self.space.mutate(parent, self.rng)
        children = self.space.neighbours(parent)
        if self.move and self.move < len(children):
            children = [children[i] for i in sorted(self.rng.choice(len(children), size=self.move, replace=False))]
        scores = self.proxy.score(children)
        new = [i for i, c in enumerate(children) if str(c) not in self.asked]
        return children[max(new or range(len(children)), key=lambda i: scores[i])]
