// Command pulumi-resource-kubernetes is the Pulumi Kubernetes resource provider,
// built from the upstream provider module (github.com/pulumi/pulumi-kubernetes/provider/v4).
//
// The upstream main package embeds two files that its release build generates
// (schema-embed.json, terraform-mapping-embed.json) and that are not part of the
// published Go module, so it cannot be built from the module cache. This package
// is our stand-in: scripts/toolchain runs ./internal/embedgen to produce the two
// files next to this one (they are git-ignored), then builds this package with
// -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=<release>.
package main

import (
	_ "embed"

	k8sprovider "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	k8sversion "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schemaJSON []byte

//go:embed terraform-mapping-embed.json
var terraformMappingJSON []byte

func main() {
	k8sprovider.Serve("kubernetes", k8sversion.Version, schemaJSON, terraformMappingJSON)
}
