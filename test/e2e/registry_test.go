//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// registryAddress is the in-memory OCI registry the tests push packages to.
// Crossplane pulls from loopback registries over plain HTTP.
const registryAddress = "127.0.0.1:5000"

// startRegistry serves an in-memory OCI registry until ctx ends.
func startRegistry(ctx context.Context) error {
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", registryAddress)
	if err != nil {
		return fmt.Errorf("cannot listen for the package registry: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("e2e: package registry stopped: %v", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return nil
}

// pushPackage pushes an .xpkg file (an image tarball, as `crossplane xpkg
// build` writes it) to the local registry and returns its reference.
func pushPackage(ctx context.Context, path, repository, tag string) (string, error) {
	ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", registryAddress, repository, tag))
	if err != nil {
		return "", fmt.Errorf("invalid package reference: %w", err)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return "", fmt.Errorf("cannot read package %s: %w", path, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("cannot push %s to %s: %w", path, ref, err)
	}
	return ref.String(), nil
}
