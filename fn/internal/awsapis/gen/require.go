//go:build generate

package main

// The generator reads the provider's files from the module cache at the
// version go.mod requires. Nothing in the function imports the provider's
// packages any more; this import, built only with the generate tag, keeps
// the requirement (and the CRDs internal/providercrds reads) in go.mod
// through go mod tidy.
import _ "github.com/upbound/provider-aws/v2/apis/cluster/ecr/v1beta1"
