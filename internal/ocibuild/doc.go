// Package ocibuild builds this project's container images and Crossplane
// package artifacts without a container engine, reproducibly: the same
// binaries and inputs always give the same image digests.
//
// An image is two layers on nothing: a small root filesystem (the nonroot
// user and group, a home directory and a world-writable /tmp, as the
// distroless static image has them) and the static binary. Every tar entry is
// written in sorted order with a fixed modification time, owner and mode, and
// the image config carries a fixed creation time, so nothing about the build
// machine or the clock reaches the digest.
package ocibuild
