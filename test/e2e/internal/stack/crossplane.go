package stack

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Crossplane package kinds the tests drive.
var (
	FunctionGVK              = schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "Function"}
	FunctionRevisionGVK      = schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "FunctionRevision"}
	ConfigurationGVK         = schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "Configuration"}
	ConfigurationRevisionGVK = schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "ConfigurationRevision"}
)

// labelParentPackage links a package revision to its package; Crossplane
// finds a function's endpoint through the Active revision with this label.
const labelParentPackage = "pkg.crossplane.io/package"

// FunctionServingDir issues a serving certificate for a function listening
// on 127.0.0.1 and writes it with the CA into a folder in the layout
// function-sdk-go reads (--tls-server-certs-dir / TLS_SERVER_CERTS_DIR).
// Crossplane verifies the certificate against the same CA, and the function
// verifies Crossplane's client certificate against it: mutual TLS, as in a
// real installation.
func (s *Stack) FunctionServingDir(name string) (string, error) {
	kp, err := s.CA.Issue(CertRequest{CommonName: name, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	if err != nil {
		return "", err
	}
	dir := s.path("functions", name, "tls")
	if err := s.CA.WriteTLSDir(dir, kp); err != nil {
		return "", err
	}
	return dir, nil
}

// RegisterFunctionEndpoint makes Crossplane call the function named
// functionName (the Composition's functionRef) at endpoint, without a package
// install: it creates a paused FunctionRevision (so the package manager
// leaves it alone) in the Active state and publishes the endpoint in its
// status, which is all Crossplane's function runner reads.
func RegisterFunctionEndpoint(ctx context.Context, c *Client, functionName, endpoint string) error {
	rev := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{
			"name":        functionName + "-local",
			"labels":      map[string]any{labelParentPackage: functionName},
			"annotations": map[string]any{"crossplane.io/paused": "true"},
		},
		"spec": map[string]any{
			"desiredState": "Active",
			"image":        "local/" + functionName + ":e2e",
			"revision":     int64(1),
		},
	}}
	rev.SetGroupVersionKind(FunctionRevisionGVK)
	if _, err := c.Apply(ctx, rev); err != nil {
		return err
	}
	return SetFunctionRevisionEndpoint(ctx, c, rev.GetName(), endpoint)
}

// SetFunctionRevisionEndpoint publishes where a FunctionRevision's function
// listens. With Crossplane's External package runtime nobody else does.
func SetFunctionRevisionEndpoint(ctx context.Context, c *Client, revisionName, endpoint string) error {
	ri, err := c.Resource(FunctionRevisionGVK, "")
	if err != nil {
		return err
	}
	return Eventually(ctx, time.Minute, func(ctx context.Context) error {
		rev, err := ri.Get(ctx, revisionName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got, _, _ := unstructured.NestedString(rev.Object, "status", "endpoint"); got == endpoint {
			return nil
		}
		if err := unstructured.SetNestedField(rev.Object, endpoint, "status", "endpoint"); err != nil {
			return fmt.Errorf("cannot set endpoint: %w", err)
		}
		if err := unstructured.SetNestedStringSlice(rev.Object, []string{"composition"}, "status", "capabilities"); err != nil {
			return fmt.Errorf("cannot set capabilities: %w", err)
		}
		_, err = ri.UpdateStatus(ctx, rev, metav1.UpdateOptions{FieldManager: c.FieldManager})
		if err != nil {
			return fmt.Errorf("cannot publish endpoint of FunctionRevision %s: %w", revisionName, err)
		}
		return fmt.Errorf("endpoint of FunctionRevision %s just written, checking again", revisionName)
	})
}

// LogPath returns the log file of a process started by the stack.
func (s *Stack) LogPath(name string) string { return filepath.Join(s.LogDir, name+".log") }

// KeepFunctionEndpoint plays the external package runtime that Crossplane's
// External mode defers to: until ctx ends, it publishes endpoint in the
// status of every Active revision of the named Function that lacks it (a
// new revision after an upgrade, or a status rewritten by the package
// manager), as the Deployment runtime does on every reconcile.
func KeepFunctionEndpoint(ctx context.Context, c *Client, functionName, endpoint string, logf func(string, ...any)) {
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		revs, err := c.List(ctx, FunctionRevisionGVK, "", labelParentPackage+"="+functionName)
		if err != nil {
			continue // the next tick tries again; the tests see a stale endpoint as failures
		}
		for _, r := range revs {
			state, _, _ := unstructured.NestedString(r.Object, "spec", "desiredState")
			current, _, _ := unstructured.NestedString(r.Object, "status", "endpoint")
			if state != "Active" || current == endpoint {
				continue
			}
			if err := SetFunctionRevisionEndpoint(ctx, c, r.GetName(), endpoint); err != nil && ctx.Err() == nil {
				logf("cannot publish the endpoint of FunctionRevision %s: %v", r.GetName(), err)
			}
		}
	}
}
