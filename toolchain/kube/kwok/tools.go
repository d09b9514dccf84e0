//go:build tools

// Package tools pins kwok (fake nodes/pods for the local control plane),
// built by scripts/kube-toolchain into .toolchain/bin/kwok. It lives in its
// own module because kwok needs newer k8s.io/* libraries than the
// Kubernetes release that toolchain/kube/go.mod pins.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
