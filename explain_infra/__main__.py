"""``python -m explain_infra validate|render|docs``: offline checks of a stack, without a cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ConfigError


def _validate(args: argparse.Namespace) -> int:
    from .config import load_stack_config
    from .offline import load_stack_file

    raw, secure = load_stack_file(args.stack)
    load_stack_config(raw, args.stack, secure)
    print(f"stack {args.stack}: config is valid")
    return 0


def _render(args: argparse.Namespace) -> int:
    from .config import load_stack_config
    from .offline import evaluate, load_stack_file, render

    raw, secure = load_stack_file(args.stack)
    load_stack_config(raw, args.stack, secure)  # refuse bad config before evaluating anything
    evaluation = evaluate(raw, args.stack, secure)
    errors = render(evaluation, Path(args.out))
    print(f"stack {args.stack}: {len(evaluation.resources)} resources -> {args.out}/plan.json, {args.out}/manifests/")
    for error in errors:
        print(f"schema: {error}", file=sys.stderr)
    return 1 if errors else 0


def _docs(args: argparse.Namespace) -> int:
    from .docs import update_readme

    changed = update_readme(check=args.check)
    if args.check and changed:
        print("README.md config reference is out of date: run `python -m explain_infra docs`", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain_infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check Pulumi.<stack>.yaml; exit 1 with every problem")
    validate.add_argument("--stack", required=True)
    validate.set_defaults(run=_validate)
    render = commands.add_parser("render", help="write plan.json and manifests/ of a stack, schema-checked")
    render.add_argument("--stack", required=True)
    render.add_argument("--out", required=True)
    render.set_defaults(run=_render)
    docs = commands.add_parser("docs", help="regenerate README.md's config reference from the models")
    docs.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    docs.set_defaults(run=_docs)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
