# Prints {"executable", "version"} of this interpreter as JSON.
import json
import platform
import sys

json.dump({"executable": sys.executable, "version": platform.python_version()}, sys.stdout)
