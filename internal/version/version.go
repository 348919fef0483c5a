// Package version holds the version of this project's binaries. The build
// stamps it from git:
//
//	go build -ldflags "-X github.com/cicd-platform/crossplane-cicd-pipeline/internal/version.version=v1.2.3"
package version

// version is a variable, not a constant, so that the linker can set it.
var version = "v0.0.0-dev"

// Version returns the version the binary was built as, or v0.0.0-dev for a
// build that did not stamp one (go run, go test).
func Version() string {
	return version
}
