"""The layout the README promises, kept by tests: every module named in docs/architecture.md
with its one job, no import cycle, no import against the data path's layers, no module over
about 450 lines.

Imports are read with ``ast`` from every module of ``posestage/`` — function-level (lazy)
imports and ``TYPE_CHECKING`` ones included: a cycle that only shows at run time is a cycle.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "posestage"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: Layers, lowest first: a module may import from lower layers and from its own folder only.
#: Folders of one layer are siblings that know nothing of each other.
#: The public face (``""``, posestage/__init__) imports nothing itself: its names are looked up
#: lazily, and an import of one of them counts as an import of the module that defines it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "errors", "logs", "signals"),
    ("model",),
    ("config",),
    ("context",),
    ("hookspecs",),
    ("sources", "engine", "tracking", "draw", "host"),
    ("stage",),
    ("commands",),
    ("cli",),
    ("__main__",),
    ("testing",),  # the plugin author's kit: runs the stage, the command line too
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
#: A module longer than this is doing more than one job (the house rule says about 450).
MAX_LINES = 480


def modules() -> dict[str, Path]:
    """``{"posestage.engine.decoding": path}`` for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def public_face() -> dict[str, str]:
    """``{name: module}`` of the names ``posestage/__init__.py`` exports lazily."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The posestage modules ``name`` imports (a package's ``__init__`` counts as the package;
    a name of the public face counts as the module defining it)."""
    face = public_face()
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if base == "posestage" and alias.name in face:
                    targets.append(face[alias.name])
                else:
                    targets.append(sub if sub in known else base)
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("posestage") and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def part_of(module: str) -> str:
    """The top-level part of posestage a module belongs to: ``engine``, ``errors``, ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, f"import cycles (each a set of modules importing each other): {found}"


def test_every_import_follows_the_layers():
    wrong = []
    for module, targets in graph().items():
        mine = part_of(module)
        assert mine in RANK, f"{module}: place its folder in a layer of LAYERS"
        for target in targets:
            theirs = part_of(target)
            if theirs == mine:
                continue
            if RANK[theirs] >= RANK[mine]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, (
        "imports against the layers (a module imports only from lower layers and its own "
        f"folder): {wrong}"
    )


def test_every_module_is_named_in_the_architecture_doc_with_its_job():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".c") or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        named = relative if path.name != "__init__.py" else relative[: -len("__init__.py")]
        if named in ("", "__main__.py"):
            continue
        if f"`{named}`" not in text:
            missing.append(named)
    assert not missing, f"docs/architecture.md does not name these modules: {missing}"


def test_the_architecture_doc_names_no_module_that_is_gone():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_][\w/]*(?:\.py|\.c|/))`", text))
    gone = [
        name
        for name in sorted(named)
        if not name.startswith(("plugins/", "tests/"))
        and not (PACKAGE / name).exists()
        and not (ROOT / name).exists()
    ]
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"


def test_no_module_is_over_about_450_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules doing more than one job (over {MAX_LINES} lines): {long}"


def test_a_module_importing_its_own_package_face_is_a_cycle():
    edges = defaultdict(set)
    edges["posestage.x"] = {"posestage.x.inner"}
    edges["posestage.x.inner"] = {"posestage.x"}
    assert cycles(dict(edges)) == [["posestage.x", "posestage.x.inner"]]


def readme_tree() -> dict[str, set[str]]:
    """``{"engine": {"pose_engine", ...}, "": {"__init__", "hookspecs", ...}, "plugins/": ...}``
    from the tree in the README's "What is where" (what follows a ``#`` is a comment)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```\nposestage/\n", 1)[1].split("```", 1)[0]
    tree: dict[str, set[str]] = defaultdict(set)
    folder = ""
    for line in block.splitlines():
        words = line.split("#", 1)[0].split()
        if line.startswith("plugins/"):
            tree["plugins/"] = set(words[1:])
            continue
        if words and words[0].endswith("/"):
            folder, words = words[0].rstrip("/"), words[1:]
        elif words and words[0].endswith(".py"):
            folder = ""
        for word in words:
            tree[folder].add(word[: -len(".py")] if word.endswith(".py") else word)
    return tree


def test_the_readme_tree_is_the_tree():
    real: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*"):
        if path.suffix not in (".py", ".c") or "__pycache__" in path.parts:
            continue
        parts = path.relative_to(PACKAGE).parts
        if len(parts) == 1 and path.stem != "__main__":
            real[""].add(path.name if path.suffix == ".c" else path.stem)
        elif len(parts) == 2 and path.stem != "__init__":
            real[parts[0]].add(path.name if path.suffix == ".c" else path.stem)
    real["plugins/"] = {
        p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists()
    }
    assert readme_tree() == real, "the README's tree is not posestage's: update one of them"
