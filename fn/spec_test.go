package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
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

// TestSpecCacheHitAsDecode decodes every example's spec through the cache
// twice (a miss, then a hit) and compares both with a fresh DecodeSpec.
func TestSpecCacheHitAsDecode(t *testing.T) {
	files := []string{
		"xr-minimal.yaml", "xr-full.yaml",
		"claim-minimal.yaml", "claim-full.yaml",
		"namespaced-minimal.yaml", "namespaced-full.yaml",
	}
	c := newSpecCache(specCacheSize)
	distinct := map[[sha256.Size]byte]bool{} // claim- and namespaced-minimal share theirs
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			xr := composite.New()
			xr.Object = xrFile(t, f).AsMap()
			spec, ok := xr.Object["spec"].(map[string]any)
			if !ok {
				t.Fatalf("%s has no spec", f)
			}
			distinct[jsonKey(t, spec)] = true
			want := decodeWith(DecodeSpec, xr)
			for _, call := range []string{"miss", "hit"} {
				if diff := cmp.Diff(want, decodeWith(c.DecodeSpec, xr)); diff != "" {
					t.Errorf("%s: the cache's outcome differs from DecodeSpec's: -want, +got:\n%s", call, diff)
				}
			}
		})
	}
	if want, got := len(distinct), c.len(); got != want {
		t.Errorf("the cache holds %d outcomes, want %d (one per distinct spec)", got, want)
	}
}

// TestSpecCacheHitIsACopy changes every field of a spec the cache returned,
// through its pointers, slices and maps too, and expects the next hit
// unchanged: the cache must hand out deep copies, never its own spec.
func TestSpecCacheHitIsACopy(t *testing.T) {
	for _, f := range []string{"xr-full.yaml", "xr-minimal.yaml"} {
		t.Run(f, func(t *testing.T) {
			xr := composite.New()
			xr.Object = xrFile(t, f).AsMap()
			want, err := DecodeSpec(xr)
			if err != nil {
				t.Fatal(err)
			}
			c := newSpecCache(specCacheSize)
			for _, call := range []string{"miss", "hit", "second hit"} {
				got, err := c.DecodeSpec(xr)
				if err != nil {
					t.Fatalf("%s: %v", call, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%s: a caller's changes reached this caller: -want, +got:\n%s", call, diff)
				}
				mutate(reflect.ValueOf(got).Elem())
				if cmp.Equal(want, got) {
					t.Fatalf("%s: mutate changed nothing", call)
				}
			}
		})
	}
}

// mutate changes every string, bool and number v holds, in place: through
// pointers, slice elements and map values, which a shallow copy would share.
func mutate(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			mutate(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutate(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	}
}

// jsonKey is the SHA-256 of the spec's JSON.
func jsonKey(t *testing.T, spec map[string]any) [sha256.Size]byte {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
