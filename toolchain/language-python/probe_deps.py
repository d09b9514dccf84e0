# Lists the installed distributions of this interpreter as JSON [{"name", "version"}].
import json
import sys
from importlib import metadata

deps = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name and name.lower() not in deps:
        deps[name.lower()] = (name, dist.version)
json.dump([{"name": n, "version": v} for _, (n, v) in sorted(deps.items())], sys.stdout)
