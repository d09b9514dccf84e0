//go:build tools

// Package tools pins the upstream provider packages that cmd/pulumi-resource-kubernetes
// builds on, so that `go mod tidy` keeps them in go.mod and go.sum.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)
