# Lists the Pulumi packages importable by this interpreter that declare a plugin:
# every top-level package directory on sys.path holding pulumi-plugin.json (or the
# older pulumiplugin.json). Prints a JSON list; the language host interprets it.
import json
import os
import sys


def dist_version(module):
    """Version of the distribution that installed `module` ("" if unknown)."""
    try:
        from importlib import metadata
    except ImportError:
        return ""
    candidates = []
    try:
        candidates += metadata.packages_distributions().get(module, [])
    except Exception:
        pass
    candidates += [module.replace("_", "-"), module]
    for dist in candidates:
        try:
            return metadata.version(dist)
        except Exception:
            continue
    return ""


found, seen = [], set()
for entry in sys.path:
    if not entry or not os.path.isdir(entry):
        continue
    try:
        names = sorted(os.listdir(entry))
    except OSError:
        continue
    for name in names:
        if name in seen:
            continue  # shadowed by an earlier sys.path entry
        for filename in ("pulumi-plugin.json", "pulumiplugin.json"):
            path = os.path.join(entry, name, filename)
            if not os.path.isfile(path):
                continue
            seen.add(name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            try:
                declared = json.loads(text)
            except ValueError:
                declared = {}
            version = "" if declared.get("version") else dist_version(name)
            found.append({"module": name, "file": path, "json": text, "dist_version": version})
            break
json.dump(found, sys.stdout)
