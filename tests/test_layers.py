"""The layer order of docs/ARCHITECTURE.md, read from the source: no import runs back up it."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ptnas"
# What a layer may import from ptnas, beyond itself (prefixes of module names).
RUNTIME_MAY_IMPORT = ("ptnas.runtime", "ptnas.device")
ALGORITHMS = ("evaluators", "selectors", "strategies", "supernet", "proxies", "spaces", "ops", "data")


def _imports(path: Path) -> set[str]:
    """Every ptnas module `path` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("ptnas"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ptnas"):
            if node.module != "ptnas":  # `from ptnas import device` imports ptnas.device, not all of ptnas
                out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", "."), path


def _is(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_only_programs_import_programs():
    bad = [(m, i) for m, path in _modules() if not _is(m, "ptnas.cli") and m != "ptnas.train_final.__main__"
           for i in _imports(path) if _is(i, "ptnas.cli")]
    assert bad == []


def test_only_programs_and_the_python_api_import_jobs():
    bad = [(m, i) for m, path in _modules() if m != "ptnas.__init__" and not _is(m, "ptnas.cli") and not _is(m, "ptnas.jobs")
           for i in _imports(path) if _is(i, "ptnas.jobs")]
    assert bad == []
    assert "ptnas.jobs.search" in _imports(PACKAGE / "__init__.py")  # the walk sees the API's lazy imports


def test_the_runtime_imports_no_algorithm_and_no_program():
    bad = [(m, i) for m, path in _modules() if _is(m, "ptnas.runtime")
           for i in _imports(path) if not any(_is(i, p) for p in RUNTIME_MAY_IMPORT)]
    assert bad == []


def test_algorithms_do_not_import_final_training():
    bad = [(m, i) for m, path in _modules() if any(_is(m, f"ptnas.{a}") for a in ALGORITHMS)
           for i in _imports(path) if _is(i, "ptnas.train_final")]
    assert bad == []


def test_the_walk_sees_the_package():
    names = dict(_modules())
    assert "ptnas.runtime.process" in names and "ptnas.cli.search" in names
    assert "ptnas.runtime.process" in _imports(names["ptnas.runtime.loop"])


def test_executors_run_strategies_without_importing_them():
    bad = [(m, i) for m, path in _modules() if _is(m, "ptnas.executors")
           for i in _imports(path) if _is(i, "ptnas.strategies") or _is(i, "ptnas.jobs")]
    assert bad == []
    assert "ptnas.executors.loop" in _imports(PACKAGE / "executors" / "base.py")
