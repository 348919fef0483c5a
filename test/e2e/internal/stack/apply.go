package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

var crdGVR = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// Client is a small dynamic Kubernetes client: server-side apply of YAML and
// access to any resource by kind, with a REST mapping that follows newly
// installed CRDs.
type Client struct {
	Dynamic      dynamic.Interface
	mapper       meta.ResettableRESTMapper
	FieldManager string
}

// NewClient returns a client that applies as fieldManager.
func NewClient(cfg *rest.Config, fieldManager string) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	// Deprecation warnings (e.g. for the v1 XRDs this project uses on
	// purpose) would repeat on every request.
	cfg.WarningHandler = rest.NewWarningWriter(os.Stderr, rest.WarningWriterOptions{Deduplicate: true})
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot build dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot build discovery client: %w", err)
	}
	return &Client{
		Dynamic:      dyn,
		mapper:       restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		FieldManager: fieldManager,
	}, nil
}

// Mapping returns the REST mapping of a kind, refreshing discovery once if the
// kind is unknown (it may have just been installed).
func (c *Client) Mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot map %s to a resource: %w", gvk, err)
	}
	return m, nil
}

// Resource returns the dynamic interface for a kind, in namespace if the kind
// is namespaced.
func (c *Client) Resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := c.Mapping(gvk)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if namespace == "" {
			namespace = "default"
		}
		return c.Dynamic.Resource(m.Resource).Namespace(namespace), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// Apply server-side applies obj, taking ownership of conflicting fields.
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.Resource(obj.GroupVersionKind(), obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("cannot encode %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	out, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: c.FieldManager, Force: new(true)})
	if err != nil {
		return nil, fmt.Errorf("cannot apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return out, nil
}

// ApplyYAML applies every object of a multi-document YAML stream.
func (c *Client) ApplyYAML(ctx context.Context, data []byte) ([]*unstructured.Unstructured, error) {
	objs, err := DecodeYAML(data)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		applied, err := c.Apply(ctx, o)
		if err != nil {
			return out, err
		}
		out = append(out, applied)
	}
	return out, nil
}

// Get reads an object by kind, namespace and name.
func (c *Client) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	ri, err := c.Resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}

// List lists objects of a kind in namespace ("" for all or cluster scope)
// that match a label selector.
func (c *Client) List(ctx context.Context, gvk schema.GroupVersionKind, namespace, labelSelector string) ([]unstructured.Unstructured, error) {
	m, err := c.Mapping(gvk)
	if err != nil {
		return nil, err
	}
	var ri dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
	if namespace != "" && m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = c.Dynamic.Resource(m.Resource).Namespace(namespace)
	}
	l, err := ri.List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", gvk.Kind, err)
	}
	return l.Items, nil
}

// InstallCRDs applies the CRDs in files and waits until the API server serves
// them.
func (c *Client) InstallCRDs(ctx context.Context, files []string) error {
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // CRD files chosen by the test
		if err != nil {
			return fmt.Errorf("cannot read CRD file: %w", err)
		}
		// Server-side apply: some provider CRDs exceed the 256 KiB
		// last-applied annotation that client-side apply would write.
		objs, err := c.ApplyYAML(ctx, data)
		if err != nil {
			return fmt.Errorf("cannot install CRDs from %s: %w", filepath.Base(f), err)
		}
		for _, o := range objs {
			names = append(names, o.GetName())
		}
	}
	if err := c.WaitForCRDs(ctx, names...); err != nil {
		return err
	}
	c.mapper.Reset()
	return nil
}

// WaitForCRDs waits until each named CRD is Established.
func (c *Client) WaitForCRDs(ctx context.Context, names ...string) error {
	for _, name := range names {
		err := Eventually(ctx, 2*time.Minute, func(ctx context.Context) error {
			u, err := c.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
				return fmt.Errorf("cannot decode CRD %s: %w", name, err)
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("CRD %s is not established yet", name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeYAML splits a multi-document YAML (or JSON) stream into objects,
// skipping empty documents.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("cannot decode YAML: %w", err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetKind() == "" {
			return nil, fmt.Errorf("YAML document without kind: %.80s", strings.TrimSpace(fmt.Sprint(obj)))
		}
		out = append(out, u)
	}
}

// Eventually calls check until it returns nil or timeout passes, and returns
// the last error then. It polls instead of asserting on elapsed time, so slow
// machines only make tests slower, not flaky.
func Eventually(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := 100 * time.Millisecond
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still failing after %s: %w", timeout, err)
		case <-time.After(interval):
		}
		if interval < time.Second {
			interval += interval / 2
		}
	}
}
