//go:build tools

// Package tools pins the upstream main packages that scripts/toolchain builds
// from this module (go build ... github.com/pulumi/pulumi/pkg/v3/cmd/pulumi).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
