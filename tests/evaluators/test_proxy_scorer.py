"""The evaluator that scores standalone networks: seeded builds, shared parts, population combine."""
import torch

from ptnas import proxies, spaces
from ptnas.evaluators.zero_cost import ProxyScorer, parts_needed

SPACE = spaces.get("nb201")
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
         "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|",
         "|nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|"]


def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g)


def evaluator(names):
    return ProxyScorer([proxies.get(n) for n in names], lambda a: SPACE.network(a, C=4, N=1), batch(),
                             init_seed=0)


def test_parts_shared_by_several_proxies_are_computed_once():
    chosen = [proxies.get(n) for n in ("synflow", "vote", "tenas", "ntk_cond")]
    assert [p.name for p in parts_needed(chosen)] == ["synflow", "jacob_cov", "snip", "ntk_cond", "linear_regions"]


def test_measure_is_reproducible_and_uses_a_seeded_fresh_network():
    ev = evaluator(["synflow", "grad_norm"])
    first, second = ev.measure(ARCHS[0]), ev.measure(ARCHS[0])
    assert first["parts"] == second["parts"] and set(first["seconds"]) == {"synflow", "grad_norm"}
    torch.manual_seed(0)
    model = SPACE.network(ARCHS[0], C=4, N=1)
    assert first["parts"]["grad_norm"] == proxies.get("grad_norm")(model, batch())


def test_combine_ranks_population_proxies_over_the_evaluated_archs():
    ev = evaluator(["synflow", "vote", "tenas"])
    measured = [ev.measure(a)["parts"] for a in ARCHS]
    scores = ev.combine(measured)
    assert scores["synflow"] == [m["synflow"] for m in measured]
    models = []
    for a in ARCHS:
        torch.manual_seed(0)
        models.append(SPACE.network(a, C=4, N=1))
    for name in ("vote", "tenas"):
        assert scores[name] == proxies.score_population(proxies.get(name), models, batch())
    assert sorted(scores["vote"]) == [0.0, 1.0, 2.0]  # 3 archs, no majority ties here
