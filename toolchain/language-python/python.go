package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// interpreter is the Python a program (or a probe) runs with.
type interpreter struct {
	// python is the executable to run (absolute when it comes from a virtualenv).
	python string
	// venv is the virtualenv directory, or "" when python is not from one.
	venv string
	// source says how python was chosen, for errors and `pulumi about`.
	source string
}

// programPaths are the directories of a program, resolved from the request.
type programPaths struct {
	root       string // directory of Pulumi.yaml
	programDir string // directory holding the entry point (root + Pulumi.yaml `main:`)
	entryPoint string // file or directory to run, relative to programDir ("." = programDir/__main__.py)
	options    map[string]any
}

func resolvePaths(info *pulumirpc.ProgramInfo, fallbackRoot string) programPaths {
	p := programPaths{root: fallbackRoot, programDir: fallbackRoot, entryPoint: "."}
	if info == nil {
		return p
	}
	if info.GetRootDirectory() != "" {
		p.root = info.GetRootDirectory()
	}
	if info.GetProgramDirectory() != "" {
		p.programDir = info.GetProgramDirectory()
	} else {
		p.programDir = p.root
	}
	if info.GetEntryPoint() != "" {
		p.entryPoint = info.GetEntryPoint()
	}
	if info.GetOptions() != nil {
		p.options = info.GetOptions().AsMap()
	}
	return p
}

func (p programPaths) stringOption(name string) string {
	if v, ok := p.options[name].(string); ok {
		return v
	}
	return ""
}

// findInterpreter picks the Python for a project, in this order:
//  1. Pulumi.yaml `runtime.options.virtualenv` (relative to the project root), or the
//     legacy --virtualenv flag; it must exist: we never create or populate it, the
//     project's own setup does;
//  2. an activated virtualenv ($VIRTUAL_ENV);
//  3. $PULUMI_PYTHON_CMD;
//  4. python3, then python, on PATH.
func findInterpreter(p programPaths, legacyVirtualenv string) (interpreter, error) {
	venvOpt := p.stringOption("virtualenv")
	source := "Pulumi.yaml runtime.options.virtualenv"
	if venvOpt == "" && legacyVirtualenv != "" {
		venvOpt, source = legacyVirtualenv, "--virtualenv"
	}
	if venvOpt != "" {
		venv := venvOpt
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(p.root, venv)
		}
		python, err := venvPython(venv)
		if err != nil {
			return interpreter{}, fmt.Errorf(
				"the virtualenv %q (%s: %q) is not usable: %v; create it first, e.g. "+
					"`python3 -m venv %s && %s/bin/pip install -r requirements.txt`",
				venv, source, venvOpt, err, venv, venv)
		}
		return interpreter{python: python, venv: venv, source: source}, nil
	}
	if venv := os.Getenv("VIRTUAL_ENV"); venv != "" {
		if python, err := venvPython(venv); err == nil {
			return interpreter{python: python, venv: venv, source: "$VIRTUAL_ENV"}, nil
		}
	}
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		python, err := exec.LookPath(cmd)
		if err != nil {
			return interpreter{}, fmt.Errorf("$PULUMI_PYTHON_CMD=%q: %v", cmd, err)
		}
		return interpreter{python: python, source: "$PULUMI_PYTHON_CMD"}, nil
	}
	for _, name := range []string{"python3", "python"} {
		if python, err := exec.LookPath(name); err == nil {
			return interpreter{python: python, source: name + " on PATH"}, nil
		}
	}
	return interpreter{}, fmt.Errorf("no Python found: set runtime.options.virtualenv in Pulumi.yaml, " +
		"activate a virtualenv, or put python3 on PATH")
}

func venvPython(venv string) (string, error) {
	st, err := os.Stat(venv)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("not a directory")
	}
	for _, name := range []string{"python3", "python"} {
		candidate := filepath.Join(venv, "bin", name)
		if st, err := os.Stat(candidate); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("it has no bin/python3 or bin/python")
}

// environ is the environment for a Python process: ours, plus what activating the
// virtualenv would set, plus extra. Later entries win.
func (in interpreter) environ(extra ...string) []string {
	env := make([]string, 0, len(os.Environ())+len(extra)+3)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if in.venv != "" && (k == "PYTHONHOME" || k == "VIRTUAL_ENV" || k == "PATH") {
			continue
		}
		env = append(env, kv)
	}
	if in.venv != "" {
		env = append(env,
			"VIRTUAL_ENV="+in.venv,
			"PATH="+filepath.Join(in.venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return append(env, extra...)
}

// probe runs a short Python snippet in dir and returns its stdout.
func (in interpreter) probe(ctx context.Context, dir, code string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, in.python, append([]string{"-c", code}, args...)...)
	cmd.Dir = dir
	cmd.Env = in.environ("PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", in.python, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
