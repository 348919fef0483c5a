// Package warmup starts building the XRD's validator (xrd.Validator: the
// schema decoded, its compiled CEL rules planned, the OpenAPI validator)
// while the rest of the function's packages are still being initialized.
//
// The function needs it before it answers the first request. Go
// initializes a package once everything it imports is; this package imports
// only the validator's dependencies (about 370 of the function's 700
// packages), so its init runs before the gRPC server's, client-go's and
// controller-runtime's, and on a second core the build (about 1.3 ms since
// the CEL rules are compiled by go generate, internal/specschema) overlaps
// with them. The work is the same and still before the first response's
// validation; main serves meanwhile and stops on its error.
package warmup

import "github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"

func init() { //nolint:gochecknoinits // The point is to start before the remaining packages' inits.
	go func() { _, _ = xrd.Validator() }()
}
