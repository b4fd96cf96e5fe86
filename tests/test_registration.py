"""Public registration: a package outside ptnas adds a selector, space, evaluator, strategy or proxy by name."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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


PLUGIN = '''
from ptnas.proxies import Proxy

def _count(model, batch):
    return float(sum(p.numel() for p in model.parameters()))

COUNT = Proxy("plugin_params", _count, needs_data=False, bn="none")
'''


def test_an_installed_package_adds_a_proxy_through_the_entry_point_group(tmp_path):
    """A real distribution on the path (a dist-info with entry_points.txt, as pip installs one): its proxy
    is found by name, runs in search.py, and a broken entry point is skipped with a warning naming it."""
    (tmp_path / "ptnas_plugin.py").write_text(PLUGIN)
    info = tmp_path / "ptnas_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ptnas-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ptnas.proxies]\nplugin_params = ptnas_plugin:COUNT\n"
                                           "broken = ptnas_plugin:MISSING\n")
    script = ("import sys\nfrom ptnas import proxies\nfrom ptnas.cli.search import main\n"
              "print(proxies.get('plugin_params').name, 'broken' in proxies.names())\n"
              "sys.exit(main(['--space', 'nb201', '--proxy', 'plugin_params', '--order', 'fixed', '--proposals', '1',"
              " '--valid-batches', '1', '--batch-size', '8', '--init-channels', '4', '--layers', '1',"
              " '--device', 'cpu', '--out', sys.argv[1]]))\n")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{tmp_path}{os.pathsep}{root}"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "plugin_params False"
    assert "ptnas.proxies entry point 'broken' (ptnas_plugin:MISSING) was not loaded" in done.stderr
    assert "proxy: plugin_params" in (tmp_path / "run" / "config.yaml").read_text()
