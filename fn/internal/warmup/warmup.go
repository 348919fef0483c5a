// Package warmup starts building the XRD's validator (xrd.Validator: the
// schema's YAML, the OpenAPI validator, the CEL rules compiled) while the
// rest of the function's packages are still being initialized.
//
// Building it is most of the function's start-up (CEL compilation above
// all), and the function needs it before it answers the first request. Go
// initializes a package once everything it imports is; this package imports
// only the validator's dependencies (about 470 of the function's 760
// packages), so its init runs before the gRPC server's, client-go's and
// controller-runtime's, and on a second core the build overlaps with them.
// The work is the same and still before the first response; main waits for
// it (xrd.Validator) and stops on its error.
package warmup

import "github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"

func init() { //nolint:gochecknoinits // The point is to start before the remaining packages' inits.
	go func() { _, _ = xrd.Validator() }()
}
