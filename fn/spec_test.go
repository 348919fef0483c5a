package main

import (
	"fmt"
	"sync"
	"testing"

	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
)

// specVariant is the minimal example's XR with spec.environmentSuffix set to
// suffix: a valid spec for "dev0".."dev99", an invalid one for "Bad_Suffix".
func specVariant(t *testing.T, suffix string) *composite.Unstructured {
	t.Helper()
	xr := composite.New()
	xr.Object = runtime.DeepCopyJSON(xrFile(t, "xr-minimal.yaml").AsMap())
	xr.Object["spec"].(map[string]any)["environmentSuffix"] = suffix
	return xr
}

// outcome is what a decode returned, comparable with cmp.
type outcome struct {
	Spec *v1alpha1.XCicdPipelineSpec
	Err  string
}

func decodeWith(decode func(*composite.Unstructured) (*v1alpha1.XCicdPipelineSpec, error), xr *composite.Unstructured) outcome {
	s, err := decode(xr)
	o := outcome{Spec: s}
	if err != nil {
		o.Err = err.Error()
	}
	return o
}

func TestSpecCacheSameOutcome(t *testing.T) {
	cases := map[string]*composite.Unstructured{
		"Valid":   specVariant(t, "dev"),
		"Invalid": specVariant(t, "Bad_Suffix"),
		"NoSpec":  composite.New(),
	}
	c := newSpecCache(specCacheSize)
	for name, xr := range cases {
		t.Run(name, func(t *testing.T) {
			want := decodeWith(DecodeSpec, xr)
			for i := range 3 {
				if diff := cmp.Diff(want, decodeWith(c.DecodeSpec, xr)); diff != "" {
					t.Errorf("call %d: the cache's outcome differs from DecodeSpec's: -want, +got:\n%s", i, diff)
				}
			}
		})
	}
	if want, got := 2, c.len(); got != want {
		t.Errorf("the cache holds %d outcomes, want %d (one per spec; none without a spec)", got, want)
	}
}

func TestSpecCacheChangedSpec(t *testing.T) {
	c := newSpecCache(specCacheSize)
	valid, invalid := specVariant(t, "dev"), specVariant(t, "Bad_Suffix")
	for i, xr := range []*composite.Unstructured{valid, invalid, valid, invalid} {
		_, err := c.DecodeSpec(xr)
		if wantErr := xr == invalid; (err != nil) != wantErr {
			t.Fatalf("step %d: error %v, want an error: %t", i, err, wantErr)
		}
	}
}

func TestSpecCacheReturnsCopies(t *testing.T) {
	c := newSpecCache(specCacheSize)
	xr := specVariant(t, "dev")
	first, err := c.DecodeSpec(xr)
	if err != nil {
		t.Fatal(err)
	}
	first.EnvironmentSuffix = "changed"
	second, err := c.DecodeSpec(xr)
	if err != nil {
		t.Fatal(err)
	}
	if second.EnvironmentSuffix != "dev" {
		t.Errorf("a caller's change to a decoded spec reached the next caller: %q", second.EnvironmentSuffix)
	}
}

func TestSpecCacheBounded(t *testing.T) {
	const size = 4
	c := newSpecCache(size)
	for i := range 3 * size {
		if _, err := c.DecodeSpec(specVariant(t, fmt.Sprintf("dev%d", i))); err != nil {
			t.Fatal(err)
		}
		if c.len() > size {
			t.Fatalf("after %d specs the cache holds %d outcomes, more than its size %d", i+1, c.len(), size)
		}
	}
	// An evicted spec is checked again, with the same outcome.
	got, err := c.DecodeSpec(specVariant(t, "dev0"))
	if err != nil || got.EnvironmentSuffix != "dev0" {
		t.Errorf("evicted spec: got %v, %v", got, err)
	}
}

// TestSpecCacheConcurrent decodes specs from many goroutines at once, more
// distinct specs than the cache holds so that evictions race with lookups;
// run it with -race (`make test-race`).
func TestSpecCacheConcurrent(t *testing.T) {
	const size, distinct, workers, calls = 3, 7, 8, 40
	xrs := make([]*composite.Unstructured, distinct)
	want := make([]outcome, distinct)
	for i := range xrs {
		suffix := fmt.Sprintf("dev%d", i)
		if i%3 == 2 {
			suffix = fmt.Sprintf("Bad_%d", i)
		}
		xrs[i] = specVariant(t, suffix)
		want[i] = decodeWith(DecodeSpec, xrs[i])
	}
	c := newSpecCache(size)
	var wg sync.WaitGroup
	errs := make(chan string, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for n := range calls {
				i := (w + n) % distinct
				if diff := cmp.Diff(want[i], decodeWith(c.DecodeSpec, xrs[i])); diff != "" {
					errs <- fmt.Sprintf("worker %d, spec %d: -want, +got:\n%s", w, i, diff)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if c.len() > size {
		t.Errorf("the cache holds %d outcomes, more than its size %d", c.len(), size)
	}
}
