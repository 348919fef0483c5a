// Package e2e tests the platform API on a real control plane: etcd,
// kube-apiserver, kube-controller-manager and Crossplane core run as local
// processes inside a loopback-only network namespace, the project's function
// runs as Crossplane would reach it (mTLS), and a provider-aws simulator
// plays the cloud. See docs/e2e.md.
//
// The tests carry the build tag e2e, so `go test ./...` skips them; run them
// with `make e2e`.
package e2e
