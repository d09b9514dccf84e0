package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

var (
	//go:embed bootstrap.py
	bootstrapPy string
	//go:embed probe_plugins.py
	probePluginsPy string
	//go:embed probe_deps.py
	probeDepsPy string
	//go:embed probe_about.py
	probeAboutPy string
)

// exitReported is the bootstrap's exit status for "the error was already reported
// to the engine through the SDK's log": Run then answers Bail.
const exitReported = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	args hostArgs
	cwd  string

	mu            sync.Mutex
	engineAddress string
	running       map[*exec.Cmd]struct{}
}

func newHost(args hostArgs, cwd string) *host {
	root := cwd
	if args.root != "" {
		root = args.root
	}
	return &host{
		args:          args,
		cwd:           root,
		engineAddress: args.engineAddress,
		running:       map[*exec.Cmd]struct{}{},
	}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is only used when the engine attaches to an already running host; it
// carries the engine's address (otherwise passed on our command line).
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (
	*pulumirpc.LanguageHandshakeResponse, error,
) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	if req.RootDirectory != nil && *req.RootDirectory != "" {
		h.cwd = *req.RootDirectory
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Run executes the program: the bootstrap configures the SDK from the request and
// runs the entry point. Its stdout/stderr are ours, which the engine shows the user.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "this Python language host cannot attach a debugger"}, nil
	}
	paths := resolvePaths(req.GetInfo(), firstNonEmpty(req.GetPwd(), h.cwd))
	if req.GetInfo() == nil && req.GetProgram() != "" { //nolint:staticcheck // engines before ProgramInfo
		paths.entryPoint = req.GetProgram() //nolint:staticcheck
	}
	in, err := findInterpreter(paths, h.args.virtualenv)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	program := paths.entryPoint
	if !filepath.IsAbs(program) {
		program = filepath.Join(paths.programDir, program)
	}
	pwd := firstNonEmpty(req.GetPwd(), paths.programDir)

	run, err := json.Marshal(map[string]any{
		"monitor":        req.GetMonitorAddress(),
		"engine":         h.engine(),
		"project":        req.GetProject(),
		"stack":          req.GetStack(),
		"organization":   req.GetOrganization(),
		"root_directory": paths.root,
		"pwd":            pwd,
		"program":        filepath.Clean(program),
		"args":           req.GetArgs(),
		"dry_run":        req.GetDryRun(),
		"parallel":       req.GetParallel(),
	})
	if err != nil {
		return nil, err
	}
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, in.python, "-c", bootstrapPy)
	cmd.Dir = pwd
	cmd.Env = in.environ(
		"PULUMI_LANGHOST_RUN="+string(run),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
		"PYTHONUNBUFFERED=1",
	)
	// If the engine gives up on the RPC, ask the program to stop, then kill it.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = os.Stdout
	cmd.Stderr = multiWriter{os.Stderr, tail}

	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start %s: %v", in.python, err)}, nil
	}
	h.track(cmd, true)
	err = cmd.Wait()
	h.track(cmd, false)

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitReported:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		msg := fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		if t := strings.TrimSpace(tail.String()); t != "" {
			msg += "\n" + t
		}
		return &pulumirpc.RunResponse{Error: msg}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program stopped unexpectedly: %v", err)}, nil
	}
}

func (h *host) track(cmd *exec.Cmd, add bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if add {
		h.running[cmd] = struct{}{}
	} else {
		delete(h.running, cmd)
	}
}

func (h *host) cancelAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
}

// Cancel asks running programs to stop (SIGINT, i.e. KeyboardInterrupt).
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelAll()
	return &emptypb.Empty{}, nil
}

// pluginJSON is the pulumi-plugin.json a Pulumi package ships next to its code.
type pluginJSON struct {
	Resource         bool   `json:"resource"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	Server           string `json:"server"`
	Parameterization *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Value   []byte `json:"value"` // base64 in the file
	} `json:"parameterization"`
}

type probedPackage struct {
	Module      string `json:"module"`
	File        string `json:"file"`
	JSON        string `json:"json"`
	DistVersion string `json:"dist_version"`
}

var semverLike = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$`)

// requiredPackages lists the resource plugins declared by the Pulumi packages the
// program's interpreter can import.
func (h *host) requiredPackages(ctx context.Context, info *pulumirpc.ProgramInfo) ([]*pulumirpc.PackageDependency, error) {
	paths := resolvePaths(info, h.cwd)
	in, err := findInterpreter(paths, h.args.virtualenv)
	if err != nil {
		// Not fatal here: Run reports the same problem; commands that never run the
		// program (destroy, refresh) load their providers from the stack's state.
		fmt.Fprintf(os.Stderr, "warning: cannot list the program's Pulumi packages: %v\n", err)
		return nil, nil
	}
	out, err := in.probe(ctx, paths.root, probePluginsPy)
	if err != nil {
		return nil, fmt.Errorf("listing Pulumi packages: %w", err)
	}
	return parsePluginProbe(out)
}

func parsePluginProbe(out []byte) ([]*pulumirpc.PackageDependency, error) {
	var probed []probedPackage
	if err := json.Unmarshal(out, &probed); err != nil {
		return nil, fmt.Errorf("listing Pulumi packages: bad probe output: %w", err)
	}
	var deps []*pulumirpc.PackageDependency
	for _, p := range probed {
		var pj pluginJSON
		if err := json.Unmarshal([]byte(p.JSON), &pj); err != nil {
			return nil, fmt.Errorf("%s: %w", p.File, err)
		}
		if !pj.Resource {
			continue // the package declares that it has no plugin
		}
		name := pj.Name
		if name == "" {
			name = strings.ReplaceAll(strings.TrimPrefix(p.Module, "pulumi_"), "_", "-")
		}
		ver := pj.Version
		if ver == "" && semverLike.MatchString(p.DistVersion) {
			ver = p.DistVersion // Python versions like 1.2.3a4 don't map to a plugin version: leave unset
		}
		dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: ver, Server: pj.Server}
		if pz := pj.Parameterization; pz != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: pz.Name, Version: pz.Version, Value: pz.Value,
			}
		}
		deps = append(deps, dep)
	}
	return deps, nil
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest) (
	*pulumirpc.GetRequiredPackagesResponse, error,
) {
	deps, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages (no parameterization).
func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest) (
	*pulumirpc.GetRequiredPluginsResponse, error,
) {
	deps, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(deps))
	for _, d := range deps {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// InstallDependencies does not install anything: the project's own setup creates the
// virtualenv and installs its requirements. It checks that the interpreter is there.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	if info == nil && req.GetDirectory() != "" { //nolint:staticcheck // engines before ProgramInfo
		info = &pulumirpc.ProgramInfo{RootDirectory: req.GetDirectory(), ProgramDirectory: req.GetDirectory()} //nolint:staticcheck
	}
	in, err := findInterpreter(resolvePaths(info, h.cwd), h.args.virtualenv)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Python dependencies are installed by the project's own setup, not by pulumi; "+
		"using %s (%s).\n", in.python, in.source)
	return stream.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest) (
	*pulumirpc.GetProgramDependenciesResponse, error,
) {
	paths := resolvePaths(req.GetInfo(), h.cwd)
	in, err := findInterpreter(paths, h.args.virtualenv)
	if err != nil {
		return nil, err
	}
	out, err := in.probe(ctx, paths.root, probeDepsPy)
	if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.DependencyInfo
	if err := json.Unmarshal(out, &deps); err != nil {
		return nil, fmt.Errorf("listing installed packages: %w", err)
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	paths := resolvePaths(req.GetInfo(), h.cwd)
	in, err := findInterpreter(paths, h.args.virtualenv)
	if err != nil {
		return nil, err
	}
	out, err := in.probe(ctx, paths.root, probeAboutPy)
	if err != nil {
		return nil, err
	}
	var about struct {
		Executable string `json:"executable"`
		Version    string `json:"version"`
	}
	if err := json.Unmarshal(out, &about); err != nil {
		return nil, err
	}
	meta := map[string]string{"interpreter": in.source, "host": "explain-mlops pulumi-language-python " + version}
	if in.venv != "" {
		meta["virtualenv"] = in.venv
	}
	return &pulumirpc.AboutResponse{Executable: about.Executable, Version: about.Version, Metadata: meta}, nil
}

// RuntimeOptionsPrompts: no questions to ask during `pulumi new`.
func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (
	*pulumirpc.RuntimeOptionsResponse, error,
) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// Template: nothing to adapt in a new project's files.
func (h *host) Template(context.Context, *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// multiWriter writes to every writer; unlike io.MultiWriter it keeps going when
// one of them fails (the engine may have closed our stderr).
type multiWriter []interface{ Write([]byte) (int, error) }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		_, _ = w.Write(p)
	}
	return len(p), nil
}
