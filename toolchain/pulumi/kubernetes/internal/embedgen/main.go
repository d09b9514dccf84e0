// Command embedgen prepares the two JSON files that cmd/pulumi-resource-kubernetes
// embeds, from the schema and Terraform mapping shipped in the upstream provider
// module: the schema's top-level "version" is set to the release being built, and
// both documents are re-encoded compactly (nothing else changes).
//
//	go run ./internal/embedgen -version 4.25.0 -out cmd/pulumi-resource-kubernetes
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

const providerModule = "github.com/pulumi/pulumi-kubernetes/provider/v4"

func main() {
	version := flag.String("version", "", "provider release to stamp into the schema, e.g. 4.25.0")
	out := flag.String("out", ".", "directory to write schema-embed.json and terraform-mapping-embed.json to")
	flag.Parse()
	if err := run(*version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "embedgen:", err)
		os.Exit(1)
	}
}

func run(version, out string) error {
	if version == "" {
		return fmt.Errorf("-version is required")
	}
	// The provider module exactly as this module's go.mod resolves it, downloaded
	// into the module cache if it is not there yet (`go list -m` would not).
	dl, err := exec.Command("go", "mod", "download", "-json", providerModule).Output()
	if err != nil {
		return fmt.Errorf("go mod download %s: %w", providerModule, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(dl, &mod); err != nil {
		return fmt.Errorf("go mod download %s: %w", providerModule, err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return fmt.Errorf("go mod download %s: no module directory: %s", providerModule, mod.Error)
	}
	src := filepath.Join(mod.Dir, "cmd", "pulumi-resource-kubernetes")

	raw, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		return err
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("schema.json: %w", err)
	}
	if _, ok := spec["name"]; !ok {
		return fmt.Errorf("schema.json: no package name")
	}
	if spec["version"], err = json.Marshal(version); err != nil {
		return err
	}
	schema, err := json.Marshal(spec) // compact; RawMessage values are compacted too
	if err != nil {
		return err
	}

	raw, err = os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		return err
	}
	var mapping bytes.Buffer
	if err := json.Compact(&mapping, raw); err != nil {
		return fmt.Errorf("terraform-mapping.json: %w", err)
	}

	if err := writeIfChanged(filepath.Join(out, "schema-embed.json"), schema); err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(out, "terraform-mapping-embed.json"), mapping.Bytes())
}

// writeIfChanged leaves an identical file untouched (and Go's build cache warm).
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
