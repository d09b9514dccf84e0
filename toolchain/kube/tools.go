//go:build tools

// Package tools pins the Kubernetes control-plane binaries that
// scripts/kube-toolchain builds into .toolchain/bin/ (see docs/cluster.md).
// Nothing imports this package; it exists so that `go mod tidy` keeps
// k8s.io/kubernetes and everything its commands need in go.mod/go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
