"""The shape of the code: no function in the package or the engine is longer than the project allows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80
"""Lines from a function's ``def`` (or first decorator) to its last line, docstring included."""


def _long_functions(root: Path) -> list[str]:
    """``file:line function (N lines)`` for every function or method under ``root`` longer than the limit."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - first + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_the_limit() -> None:
    too_long = [entry for package in ("analysis", "bookengine") for entry in _long_functions(ROOT / package)]
    assert not too_long, f"functions longer than {MAX_FUNCTION_LINES} lines: " + "; ".join(too_long)


def test_the_check_finds_a_long_method_and_counts_its_decorators(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    body = "".join(f"        x = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))
    (package / "module.py").write_text(f"class K:\n    @staticmethod\n    def long():\n{body}\n    def short():\n        pass\n")
    assert _long_functions(package) == [f"package/module.py:3 long ({MAX_FUNCTION_LINES + 1} lines)"]
