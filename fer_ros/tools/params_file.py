"""config/fer.yaml and the README's parameter table, generated from fer_ros.core.schema.

    python -m fer_ros.tools.params_file > config/fer.yaml   # the params file, every default commented
    python -m fer_ros.tools.params_file --readme           # the README's parameter table (Markdown)
    python -m fer_ros.tools.params_file --update .         # rewrite both in a checkout (ROOT/config/fer.yaml
                                                           # and the table between README.md's markers)

Tests keep the committed file and table equal to what this prints, so edit the schema, then run
``--update``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

from fer_ros.core import schema

WIDTH = 100
README_START = ("<!-- parameters: generated from fer_ros/core/schema.py by "
                "`python -m fer_ros.tools.params_file --update .`; edit the schema, not this table -->")
README_END = "<!-- /parameters -->"

_HEADER = """\
# fer_node parameters, generated from fer_ros/core/schema.py by
# `python -m fer_ros.tools.params_file` (edit the schema, not this file). Every value here is the
# node's built-in default; edit a copy, or override single values with launch arguments
# (`ros2 launch fer_ros fer.launch.py name:=value`) or `-p name:=value`.
/**:
  ros__parameters:
"""
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def yaml_value(value) -> str:
    """``value`` as YAML that reads back as the same value and type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value)  # a JSON string is a YAML string


def comment(param: schema.ParamSpec) -> str:
    """The description plus what is allowed (and read-only), in one sentence-ended paragraph."""
    if param.choices:
        extra = ["Choices: " + ", ".join(param.choices) + "."]
    else:
        extra = [f"Range: {param.allowed()}."] if param.range else []
    if param.read_only:
        extra.append("Read-only: set at start-up.")
    return " ".join([param.description, *extra])


def yaml_text() -> str:
    """The text of config/fer.yaml."""
    lines = [_HEADER.rstrip("\n")]
    indent = " " * 4
    for param in schema.PARAMETERS:
        lines += textwrap.wrap(comment(param), WIDTH, initial_indent=indent + "# ",
                               subsequent_indent=indent + "# ", break_on_hyphens=False)
        lines.append(f"{indent}{param.name}: {yaml_value(param.default)}")
    return "\n".join(lines) + "\n"


_CHANGE = {schema.DETECTOR: "new detector", schema.CLASSIFIER: "reloads the model",
           schema.TRACKING: "in place, ids kept", schema.OUTPUT: "in place", schema.NODE: "at once"}


def _markdown_default(param: schema.ParamSpec) -> str:
    if param.type is str:
        return f"`{param.default}`" if param.default else '`""`'
    return f"`{yaml_value(param.default)}`" if param.type is bool else yaml_value(param.default)


def readme_table() -> str:
    """The README's parameter table (Markdown), one row per schema entry."""
    rows = ["| parameter | default | allowed | a run-time change | meaning |", "|---|---|---|---|---|"]
    for p in schema.PARAMETERS:
        allowed = p.allowed() if p.range or p.choices else ""
        change = "refused (read-only)" if p.read_only else _CHANGE[p.reconfigures]
        rows.append(f"| `{p.name}` | {_markdown_default(p)} | {allowed} | {change} | "
                    f"{p.description.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def replace_readme_table(readme: str) -> str:
    """``readme`` with the text between its parameter-table markers replaced by :func:`readme_table`."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README has no parameter table markers ({README_START} ... {README_END})")
    head = readme[: start + len(README_START)]
    return f"{head}\n{readme_table()}{readme[end:]}"


def readme_table_of(readme: str) -> str:
    """The table text currently between the markers of ``readme``."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README has no parameter table markers ({README_START} ... {README_END})")
    return readme[start + len(README_START): end].lstrip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.params_file",
                                     description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--readme", action="store_true", help="print the README's parameter table")
    group.add_argument("--update", type=Path, metavar="ROOT",
                       help="rewrite ROOT/config/fer.yaml and the table in ROOT/README.md")
    args = parser.parse_args(argv)
    if args.update is not None:
        (args.update / "config" / "fer.yaml").write_text(yaml_text())
        readme = args.update / "README.md"
        readme.write_text(replace_readme_table(readme.read_text()))
        print(f"wrote {args.update / 'config' / 'fer.yaml'} and the table in {readme}", file=sys.stderr)
        return 0
    sys.stdout.write(readme_table() if args.readme else yaml_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
