// Package specschema validates and defaults an object against a CRD's
// structural schema the way kube-apiserver does (unknown fields, OpenAPI
// rules, structural defaults, x-kubernetes-validations CEL rules), without
// linking the API server's libraries: OpenAPI rules are checked with
// kube-openapi's validator, and CEL rules are evaluated from programs
// compiled ahead of time (by go generate) with cel-go's interpreter alone.
//
// It is the validator the composition function ships with. Building the API
// server's validator (internal/crdschema) compiles every CEL rule with the
// API server's CEL environment: most of the function's start-up, and most
// of what its binary links beyond function-sdk-go. internal/crdschema stays
// the reference: this package's tests compare the two, error for error.
package specschema
