# Python side of pulumi-language-python (this project's own Pulumi language host).
#
# The host starts `python -c <this file> ` with:
#   PULUMI_LANGHOST_RUN        JSON: monitor, engine, project, stack, organization,
#                              root_directory, pwd, program, args, dry_run, parallel
#   PULUMI_CONFIG              JSON object of the stack's configuration (read by the SDK)
#   PULUMI_CONFIG_SECRET_KEYS  JSON list of the configuration keys that are secret
# It configures pulumi.runtime the way the SDK expects and runs the program inside
# pulumi.runtime.run_in_stack, so that the program's resources belong to the stack.
#
# Exit status: 0 success; REPORTED when the failure was already reported to the engine
# through pulumi.log (the host then answers `bail`); anything else is a crash whose
# stderr the host returns as the error text.
import asyncio
import inspect
import json
import logging
import os
import runpy
import sys
import traceback

REPORTED = 32


def _user_traceback(program_root):
    """The current exception's traceback, starting at the first frame of the user's code."""
    etype, value, tb = sys.exc_info()
    frames = traceback.extract_tb(tb)
    prefix = os.path.join(os.path.abspath(program_root), "")
    env_prefix = os.path.join(os.path.abspath(sys.prefix), "")
    for i, frame in enumerate(frames):
        if frame.filename.startswith("<"):  # "<string>" (this bootstrap), "<frozen runpy>"
            continue
        path = os.path.abspath(frame.filename)
        if path.startswith(prefix) and not path.startswith(env_prefix) and "site-packages" not in path:
            lines = ["Traceback (most recent call last):\n"]
            lines += traceback.format_list(frames[i:])
            lines += traceback.format_exception_only(etype, value)
            return "".join(lines)
    return traceback.format_exc()


def main():
    req = json.loads(os.environ.pop("PULUMI_LANGHOST_RUN"))

    try:
        import pulumi
        import pulumi.runtime as rt
    except ImportError:
        sys.stderr.write(traceback.format_exc())
        sys.stderr.write(
            "\nThe Pulumi Python SDK (package `pulumi`) cannot be imported by %s.\n"
            "Install the project's requirements into that environment first.\n" % sys.executable
        )
        return 1

    # Configuration: the SDK also reads these variables lazily, but setting them up
    # front keeps secret keys marked as secrets.
    config = rt.get_config_env()
    if hasattr(rt, "set_all_config"):
        secret_keys = rt.get_config_secret_keys_env() if hasattr(rt, "get_config_secret_keys_env") else []
        rt.set_all_config(config, secret_keys)
    else:
        for key, value in config.items():
            rt.set_config(key, value)

    parallel = int(req.get("parallel") or 0)
    wanted = {
        "monitor": req["monitor"],
        "engine": req["engine"] or None,
        "project": req["project"],
        "stack": req["stack"],
        "parallel": parallel,
        "dry_run": bool(req["dry_run"]),
        "organization": req.get("organization") or None,
        "root_directory": req.get("root_directory") or None,
    }
    # Older SDKs lack some keyword arguments: pass only those this SDK's Settings takes.
    accepted = inspect.signature(rt.Settings.__init__).parameters
    settings = rt.Settings(**{k: v for k, v in wanted.items() if k in accepted})
    rt.configure(settings)

    program = req["program"]
    if os.path.isdir(program):
        program_root = program
        if not os.path.isfile(os.path.join(program, "__main__.py")):
            pulumi.log.error("unable to find the main Python program `__main__.py` in `%s`" % program)
            return REPORTED
    elif os.path.isfile(program):
        program_root = os.path.dirname(program)
    else:
        pulumi.log.error("the Python program `%s` does not exist" % program)
        return REPORTED

    os.chdir(req["pwd"] or program_root)
    sys.argv = [program] + list(req.get("args") or [])
    # `python -c` put the current directory first on sys.path; make it the program's
    # directory instead, so the program can import its sibling modules and packages.
    if sys.path and sys.path[0] == "":
        sys.path[0] = program_root
    else:
        sys.path.insert(0, program_root)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    executor = None
    if parallel > 0:
        # The SDK does its blocking RPCs in the loop's default executor: size it after
        # the engine's parallelism so that many resources can be registered at once.
        from concurrent.futures import ThreadPoolExecutor

        executor = ThreadPoolExecutor(max_workers=parallel * 4)
        loop.set_default_executor(executor)
    # A failing program leaves futures unobserved on purpose; asyncio's complaints
    # about that would only be noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    status = 0
    try:
        loop.run_until_complete(rt.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    except pulumi.RunError as err:
        pulumi.log.error(str(err))
        status = REPORTED
    except Exception:  # any error of the user's program: report it, with its traceback
        pulumi.log.error("Program failed with an unhandled exception:\n" + _user_traceback(program_root))
        status = REPORTED
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return status


sys.exit(main())
