"""``python -m explain_infra validate|render|docs``: offline checks of a stack, without a cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .config import load_stack_config
from .errors import ConfigError
from .offline import DOCKERFILES, PROJECT, RENDERED, ForeignOutputError, clear_rendered, evaluate, render
from .stack_file import StackFileError, load_stack_file


def _stack_name(given: str) -> str:
    """The stack's own name, which names its file: Pulumi also accepts `org/stack` and `org/project/stack`."""
    parts = given.split("/")
    if len(parts) > 3 or not all(parts):
        raise argparse.ArgumentTypeError(
            f"`{given}` is not a stack name: give `<stack>`, `<org>/<stack>` or `<org>/{PROJECT}/<stack>`")
    if len(parts) == 3 and parts[1] != PROJECT:
        raise argparse.ArgumentTypeError(f"`{given}` is a stack of project `{parts[1]}`, not of `{PROJECT}`")
    return parts[-1]


def _checked_config(stack: str) -> tuple[dict[str, Any], frozenset[str]]:
    """The stack file's raw config and secret keys, once the config is valid (ConfigError if not)."""
    raw, secure = load_stack_file(stack)
    load_stack_config(raw, stack, secure)
    return raw, secure


def _validate(args: argparse.Namespace) -> int:
    _, secure = _checked_config(args.stack)
    print(f"stack {args.stack}: config is valid")
    if secure:
        # Their rules (lengths, refused defaults) need the plain value, which only `pulumi preview` has.
        print(f"  not checked offline, as they are encrypted: {', '.join(sorted(secure))} "
              f"(`pulumi preview` checks them)")
    return 0


def _render(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"--out {args.out} is a file, not a folder: give a folder (it is created when missing)", file=sys.stderr)
        return 1
    clear_rendered(out)  # first: a render refused below must not leave an earlier plan to be reviewed
    raw, secure = _checked_config(args.stack)  # refuse bad config before evaluating anything
    evaluation = evaluate(raw, args.stack, secure, build_dir=out / DOCKERFILES)
    errors = render(evaluation, out)
    written = ", ".join(f"{args.out}/{name}" + ("/" if (out / name).is_dir() else "")
                        for name in RENDERED if (out / name).exists())
    print(f"stack {args.stack}: {len(evaluation.resources)} resources -> {written}")
    for error in errors:
        print(f"schema: {error}", file=sys.stderr)
    return 1 if errors else 0


def _images(args: argparse.Namespace) -> int:
    raw, secure = _checked_config(args.stack)
    for image in evaluate(raw, args.stack, secure).outputs["images"]:
        if args.built and not image["built"]:
            continue
        mirrored = image.get("source", image["image"]) != image["image"]
        origin = "build" if image["built"] else f"pull (mirror of {image['source']})" if mirrored else "pull"
        print(f"{image['image']}\t{image['service']}\t{origin}")
    return 0


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
    validate.add_argument("--stack", required=True, type=_stack_name)
    validate.set_defaults(run=_validate)
    render = commands.add_parser("render", help="write plan.json, manifests/ (schema-checked) and dockerfiles/")
    render.add_argument("--stack", required=True, type=_stack_name)
    render.add_argument("--out", required=True)
    render.set_defaults(run=_render)
    images = commands.add_parser("images", help="list every image the stack deploys: reference, service, build "
                                                "or pull (the source of a mirrored third-party image)")
    images.add_argument("--stack", required=True, type=_stack_name)
    images.add_argument("--built", action="store_true", help="only the images `pulumi up` builds and pushes")
    images.set_defaults(run=_images)
    docs = commands.add_parser("docs", help="regenerate README.md's config reference from the models")
    docs.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    docs.set_defaults(run=_docs)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, StackFileError, ForeignOutputError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
