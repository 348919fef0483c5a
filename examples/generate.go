// Package examples holds the example claims, XRs and render inputs. Its
// tests render every example with the real Crossplane CLI and render engine,
// exactly as `make render` does, and compare the output with golden files.
//
// `go generate ./...` (what `make generate` runs; the render needs the
// pinned Crossplane CLI and core in ./bin, which `make tools` builds)
// regenerates, in this order: each xr-<example>.yaml from its
// claim-<example>.yaml, the observed fixtures (observed/) from the fake
// provider, and the golden renders (golden/) from those.
package examples

//go:generate go test -count=1 -run TestXRsAreGeneratedFromClaims . -update
//go:generate go test -count=1 -run TestExampleObservedFixtures ../fn -update
//go:generate go test -count=1 -run TestRender . -update
