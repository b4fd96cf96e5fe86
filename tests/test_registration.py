"""Public registration: a package outside ptnas adds a selector, space, evaluator, strategy or proxy by name."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import ptnas.evaluators as evaluators, ptnas.proxies as proxies, ptnas.selectors as selectors
    import ptnas.spaces as spaces, ptnas.strategies as strategies
    from ptnas.proxies import Proxy

    class Toy(selectors.Selector):
        pass

    selectors.register("toy", Toy)
    assert selectors.get("toy") is Toy and selectors.names()[-1] == "toy"

    @strategies.register("toy-strategy")
    class ToyStrategy(strategies.Strategy):
        pass

    assert strategies.get("toy-strategy") is ToyStrategy
    evaluators.register("toy-evaluator", evaluators.ZeroCost)
    assert "toy-evaluator" in evaluators.names()
    spaces.register("toy-space", spaces.get("nb201"))
    assert spaces.get("toy-space") is spaces.get("nb201")
    toy = proxies.register(Proxy("toy_proxy", lambda model, batch: 1.0, needs_labels=False))
    assert proxies.get("toy_proxy") is toy
    for registry, name in ((selectors, "zc-pt"), (strategies, "random"), (evaluators, "fear"), (spaces, "darts")):
        try:
            registry.register(name, object())
        except ValueError as e:
            assert "registered twice" in str(e), e
        else:
            raise AssertionError(f"{name} registered twice")
    print("ok")
""")


def test_every_registry_takes_a_new_name_and_refuses_a_taken_one():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
