package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
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

// decoded is what a decode returned, comparable with cmp.
type decoded struct {
	Spec *v1alpha1.XCicdPipelineSpec
	Err  string
}

func decodeWith(decode func(*composite.Unstructured) (*v1alpha1.XCicdPipelineSpec, error), xr *composite.Unstructured) decoded {
	s, err := decode(xr)
	o := decoded{Spec: s}
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
	want := make([]decoded, distinct)
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
		for _, f := range v.Fields() {
			mutate(f)
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

// jsonKey is the cache's key before specKey: the SHA-256 of the spec's JSON.
func jsonKey(t *testing.T, spec map[string]any) [sha256.Size]byte {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestSpecKeyAsJSONKey draws many random specs, from small alphabets so that
// many are equal, and expects specKey to tell them apart exactly as the
// SHA-256 of their JSON does: equal JSON, equal keys; different JSON,
// different keys.
func TestSpecKeyAsJSONKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	const n = 20000
	byJSON := map[[sha256.Size]byte][sha256.Size]byte{}
	byKey := map[[sha256.Size]byte][sha256.Size]byte{}
	for i := range n {
		spec := randomObject(rng, 3)
		j := jsonKey(t, spec)
		k, ok := specKey(spec)
		if !ok {
			t.Fatalf("spec %d: specKey refused %v", i, spec)
		}
		if k == j {
			t.Fatalf("spec %d: specKey is the JSON key, not the binary form: %v", i, spec)
		}
		if prev, seen := byJSON[j]; seen && prev != k {
			t.Fatalf("spec %d: same JSON as an earlier spec, different key: %v", i, spec)
		}
		if prev, seen := byKey[k]; seen && prev != j {
			t.Fatalf("spec %d: same key as an earlier spec, different JSON: %v", i, spec)
		}
		byJSON[j], byKey[k] = k, j
	}
	t.Logf("%d distinct specs of %d", len(byJSON), n)
	// Many equal specs, and many different ones, or the test shows little.
	if d := len(byJSON); d > n*9/10 || d < n/10 {
		t.Errorf("%d distinct specs of %d, want between 10%% and 90%%", d, n)
	}
}

// TestSpecKeyPairs lists specs that are easy to confuse in a careless
// encoding, and specs that specKey leaves to the JSON key.
func TestSpecKeyPairs(t *testing.T) {
	m := func(kv ...any) map[string]any {
		o := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			o[kv[i].(string)] = kv[i+1]
		}
		return o
	}
	distinct := map[string][2]map[string]any{
		"KeyValueBoundary": {m("ab", "c"), m("a", "bc")},
		"TwoKeysOneKey":    {m("a", "", "b", ""), m("a", "b")},
		"ArraySplit":       {m("a", []any{"a", "b"}), m("a", []any{"ab"})},
		"ArrayNesting":     {m("a", []any{[]any{}, []any{}}), m("a", []any{[]any{[]any{}}})},
		"EmptyArrayObject": {m("a", []any{}), m("a", map[string]any{})},
		"NullEmptyString":  {m("a", nil), m("a", "")},
		"NullMissing":      {m("a", nil), m()},
		"NumberString":     {m("a", 1.0), m("a", "1")},
		"BoolString":       {m("a", true), m("a", "true")},
		"TrueFalse":        {m("a", true), m("a", false)},
		"ZeroNegativeZero": {m("a", 0.0), m("a", math.Copysign(0, -1))},
		"CloseNumbers":     {m("a", 0.1), m("a", math.Nextafter(0.1, 1))},
		"NestedKeys":       {m("a", m("b", "c")), m("a", m("b", m("c", nil)))},
	}
	for name, p := range distinct {
		t.Run(name, func(t *testing.T) {
			if jsonKey(t, p[0]) == jsonKey(t, p[1]) {
				t.Fatal("the JSON keys are equal: not a pair of different specs")
			}
			k0, ok0 := specKey(p[0])
			k1, ok1 := specKey(p[1])
			if !ok0 || !ok1 || k0 == k1 {
				t.Errorf("specKey: %x %t, %x %t; want two different keys", k0, ok0, k1, ok1)
			}
		})
	}

	// What specKey does not write in binary form it keys by the spec's
	// JSON, or refuses as encoding/json does.
	jsonKeyed := map[string]map[string]any{
		"Int64":       m("a", int64(1)),
		"JSONNumber":  m("a", json.Number("1.50")),
		"InvalidUTF8": m("a", "\xff"),
		"InvalidKey":  m("\xfe", "a"),
		"Nested":      m("a", []any{m("b", int64(2))}),
	}
	for name, spec := range jsonKeyed {
		t.Run(name, func(t *testing.T) {
			k, ok := specKey(spec)
			if want := jsonKey(t, spec); !ok || k != want {
				t.Errorf("specKey: %x %t, want the JSON key %x", k, ok, want)
			}
		})
	}
	for name, spec := range map[string]map[string]any{
		"NaN":      m("a", math.NaN()),
		"Infinity": m("a", []any{math.Inf(1)}),
		"Channel":  m("a", make(chan int)),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := json.Marshal(spec); err == nil {
				t.Fatal("encoding/json encodes it: not a spec it refuses")
			}
			if _, ok := specKey(spec); ok {
				t.Error("specKey keyed a spec encoding/json refuses")
			}
		})
	}
}

// randomObject is a random JSON object as encoding/json decodes it.
func randomObject(rng *rand.Rand, depth int) map[string]any {
	keys := []string{"a", "b", "ab", "é", ""}
	o := map[string]any{}
	for range rng.IntN(3) {
		o[keys[rng.IntN(len(keys))]] = randomValue(rng, depth-1)
	}
	return o
}

func randomValue(rng *rand.Rand, depth int) any {
	kinds := 6
	if depth > 0 {
		kinds = 8
	}
	switch rng.IntN(kinds) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return []float64{0, math.Copysign(0, -1), 1, 1.5, 1e21, -3}[rng.IntN(6)]
	case 3, 4:
		return []string{"", "a", "b", "ab", "1", "<&>", "\u2028", "\x00"}[rng.IntN(8)]
	case 5:
		return []any{}
	case 6:
		a := make([]any, rng.IntN(3))
		for i := range a {
			a[i] = randomValue(rng, depth-1)
		}
		return a
	default:
		return randomObject(rng, depth)
	}
}

// BenchmarkSpecKey compares specKey with the SHA-256 of the spec's JSON,
// the key it replaces, on the full example's spec.
func BenchmarkSpecKey(b *testing.B) {
	xr := composite.New()
	xr.Object = xrFile(b, "xr-full.yaml").AsMap()
	spec := xr.Object["spec"].(map[string]any)
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := specKey(spec); !ok {
				b.Fatal("specKey refused the spec")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			j, err := json.Marshal(spec)
			if err != nil {
				b.Fatal(err)
			}
			_ = sha256.Sum256(j)
		}
	})
}

// TestNamespacedChecksRemembered: a namespaced spec is checked once; later
// calls get a copy of the defaulted spec (or the same error), which the
// caller may change without changing what the next call gets.
func TestNamespacedChecksRemembered(t *testing.T) {
	c := newSpecCache(4)
	valid := func() map[string]any {
		return map[string]any{"environmentSuffix": "dev", "source": map[string]any{"repository": "acme/shop"}}
	}
	want, err := checkNamespaced(valid())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := c.CheckNamespaced(valid())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("call %d: -fresh check +remembered:\n%s", i, diff)
		}
		got["environmentSuffix"] = "changed"
		got["source"].(map[string]any)["provider"] = "changed"
	}
	if n := c.namespaced.Len(); n != 1 {
		t.Errorf("one spec checked three times: the cache holds %d outcomes, want 1", n)
	}
	bad := map[string]any{"environmentSuffix": "Not Valid", "source": map[string]any{"repository": "acme/shop"}}
	_, wantErr := checkNamespaced(runtime.DeepCopyJSON(bad))
	for range 2 {
		if _, err := c.CheckNamespaced(runtime.DeepCopyJSON(bad)); err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("invalid spec: got %v, want %v", err, wantErr)
		}
	}
	if n := c.namespaced.Len(); n != 2 {
		t.Errorf("the cache holds %d outcomes, want 2", n)
	}
}
