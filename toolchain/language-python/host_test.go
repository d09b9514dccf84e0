package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		argv                 []string
		engine, tracing, env string
	}{
		{[]string{"127.0.0.1:4000"}, "127.0.0.1:4000", "", ""},
		{[]string{"--logtostderr", "-v=9", "--tracing", "http://t", "127.0.0.1:1"}, "127.0.0.1:1", "http://t", ""},
		{[]string{"-tracing=x", "--virtualenv", "venv", "--root=/p", "--unknown", "127.0.0.1:2"}, "127.0.0.1:2", "x", "venv"},
		{[]string{}, "", "", ""},
	} {
		got := parseArgs(tc.argv)
		if got.engineAddress != tc.engine || got.tracing != tc.tracing || got.virtualenv != tc.env {
			t.Errorf("parseArgs(%q) = %+v", tc.argv, got)
		}
	}
}

func TestParsePluginProbe(t *testing.T) {
	out := `[
	 {"module":"pulumi_kubernetes","file":"/x/pulumi_kubernetes/pulumi-plugin.json",
	  "json":"{\"resource\": true, \"name\": \"kubernetes\", \"version\": \"4.25.0\"}","dist_version":""},
	 {"module":"pulumi","file":"/x/pulumi/pulumi-plugin.json","json":"{\"resource\": false}","dist_version":""},
	 {"module":"pulumi_foo_bar","file":"/x/pulumi_foo_bar/pulumiplugin.json",
	  "json":"{\"resource\": true}","dist_version":"1.2.3"},
	 {"module":"pulumi_alpha","file":"/x/a/pulumi-plugin.json","json":"{\"resource\": true}","dist_version":"2.0.0a17"},
	 {"module":"pulumi_p","file":"/x/p/pulumi-plugin.json",
	  "json":"{\"resource\": true, \"name\": \"terraform-provider\", \"version\": \"0.3.0\", \"parameterization\": {\"name\": \"p\", \"version\": \"1.0.0\", \"value\": \"aGk=\"}}","dist_version":""}
	]`
	deps, err := parsePluginProbe([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		s := d.Kind + ":" + d.Name + "@" + d.Version
		if p := d.GetParameterization(); p != nil {
			s += "[" + p.Name + "@" + p.Version + "=" + string(p.Value) + "]"
		}
		got = append(got, s)
	}
	want := "resource:kubernetes@4.25.0 resource:foo-bar@1.2.3 resource:alpha@ resource:terraform-provider@0.3.0[p@1.0.0=hi]"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

func fakeVenv(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	python := filepath.Join(bin, "python3")
	if err := os.WriteFile(python, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return python
}

func TestFindInterpreter(t *testing.T) {
	root := t.TempDir()
	python := fakeVenv(t, filepath.Join(root, ".venv"))
	opts, err := structpb.NewStruct(map[string]any{"virtualenv": ".venv"})
	if err != nil {
		t.Fatal(err)
	}
	info := &pulumirpc.ProgramInfo{RootDirectory: root, ProgramDirectory: root, EntryPoint: ".", Options: opts}

	in, err := findInterpreter(resolvePaths(info, "/elsewhere"), "")
	if err != nil || in.python != python || in.venv != filepath.Join(root, ".venv") {
		t.Fatalf("virtualenv option: %+v, %v", in, err)
	}
	env := strings.Join(in.environ(), "\n")
	if !strings.Contains(env, "VIRTUAL_ENV="+filepath.Join(root, ".venv")) ||
		!strings.Contains(env, "PATH="+filepath.Join(root, ".venv", "bin")+":") {
		t.Errorf("environment does not activate the virtualenv")
	}

	// A configured but missing virtualenv is an error that says what to do.
	opts, _ = structpb.NewStruct(map[string]any{"virtualenv": "missing"})
	info.Options = opts
	if _, err := findInterpreter(resolvePaths(info, ""), ""); err == nil || !strings.Contains(err.Error(), "python3 -m venv") {
		t.Errorf("missing virtualenv: %v", err)
	}

	// No option: an activated virtualenv wins over PATH.
	other := t.TempDir()
	otherPython := fakeVenv(t, other)
	t.Setenv("VIRTUAL_ENV", other)
	info.Options = nil
	in, err = findInterpreter(resolvePaths(info, ""), "")
	if err != nil || in.python != otherPython {
		t.Errorf("$VIRTUAL_ENV: %+v, %v", in, err)
	}
}
