"""Write a benchmark's rows to benchmarks/results/<name>.json and <name>.md."""

import json
import platform
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def markdown_table(rows):
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name, tables, notes="", directory=None, extra=None):
    """Save ``tables`` ({title: list of row dicts}) as JSON and as Markdown tables, in
    ``directory`` (default ``benchmarks/results``); ``extra`` (a dict) goes into the JSON
    only, for figures too long for a table, such as per-seed values."""
    directory = RESULTS if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "processor": platform.machine(),
    }
    (directory / f"{name}.json").write_text(json.dumps(
        {"machine": machine, "tables": tables, "notes": notes, **(extra or {})}, indent=2))
    parts = [f"# {name}", "", notes, ""] if notes else [f"# {name}", ""]
    for title, rows in tables.items():
        parts += [f"## {title}", "", markdown_table(rows), ""]
    parts.append(f"Machine: {machine}")
    (directory / f"{name}.md").write_text("\n".join(parts) + "\n")
    print("\n".join(parts))
