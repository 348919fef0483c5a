package jsonmap

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/jsonmap/jsonmaptest"
)

type inner struct {
	A string `json:"a,omitempty"`
	B *int   `json:"b,omitempty"`
}

type Embedded struct {
	E string `json:"e"`
}

type Named struct {
	N string `json:"n,omitempty"`
}

type rules struct {
	metav1.TypeMeta `json:",inline"`
	Embedded
	*Named

	Plain           string            `json:"plain"`
	Omitted         string            `json:"omitted,omitempty"`
	EmptyPtr        *string           `json:"emptyPtr,omitempty"`
	ZeroInt         int64             `json:"zeroInt,omitempty"`
	False           bool              `json:"false,omitempty"`
	NilSlice        []string          `json:"nilSlice"`
	NilSliceOmit    []string          `json:"nilSliceOmit,omitempty"`
	NilMap          map[string]string `json:"nilMap"`
	EmptyStruct     inner             `json:"emptyStruct,omitempty"` //nolint:modernize // go-json-experiment/json omits an empty struct: under test
	EmptyPtrObj     *inner            `json:"emptyPtrObj,omitempty"`
	NilPtr          *inner            `json:"nilPtr"`
	NullInMap       map[string]*string
	Float32         float32           `json:"float32"`
	Big             int64             `json:"big"`
	Bytes           []byte            `json:"bytes"`
	Duration        time.Duration     `json:"duration"`
	Time            metav1.Time       `json:"time,omitempty"`     //nolint:modernize // go-json-experiment/json omits an empty struct: under test
	ZeroTime        metav1.Time       `json:"zeroTime,omitempty"` //nolint:modernize // go-json-experiment/json omits an empty struct: under test
	Quantity        resource.Quantity `json:"quantity"`
	Any             any               `json:"any"`
	ZeroOmitted     int64             `json:"zeroOmitted,omitzero"`
	ZeroTimeOmitted metav1.Time       `json:"zeroTimeOmitted,omitempty,omitzero"` //nolint:modernize // both options, as ObjectMeta.CreationTimestamp has them
	TimeKept        metav1.Time       `json:"timeKept,omitzero"`
	ByMethod        evenIsZero        `json:"byMethod,omitzero"`
	ByMethodKept    evenIsZero        `json:"byMethodKept,omitzero"`
	NilPtrZero      *evenIsZero       `json:"nilPtrZero,omitzero"`
	Ignored         string            `json:"-"`
	unexported      string
}

// TestOfRules asserts the rules of go-json-experiment/json that jsonmap
// reproduces, value by value, and that the round trip agrees.
func TestOfRules(t *testing.T) {
	in := &rules{
		TypeMeta:     metav1.TypeMeta{Kind: "K"},
		Embedded:     Embedded{E: "e"},
		EmptyPtr:     new(""),
		EmptyPtrObj:  &inner{},
		NullInMap:    map[string]*string{"k": nil},
		Float32:      0.1,
		Big:          1<<53 + 1,
		Bytes:        []byte("hi"),
		Duration:     time.Second,
		Time:         metav1.NewTime(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)),
		Quantity:     resource.MustParse("1Gi"),
		Any:          []int{1},
		TimeKept:     metav1.NewTime(time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)),
		ByMethod:     2,
		ByMethodKept: 3,
		Ignored:      "x",
		unexported:   "x",
	}
	want := map[string]any{
		"kind":         "K",
		"e":            "e",
		"plain":        "",
		"zeroInt":      float64(0),
		"false":        false,
		"nilSlice":     []any{},
		"nilMap":       map[string]any{},
		"nilPtr":       nil,
		"NullInMap":    map[string]any{"k": nil},
		"float32":      0.1,
		"big":          float64(1<<53 + 1),
		"bytes":        "aGk=",
		"duration":     "1s",
		"time":         "2026-12-01T06:00:00Z",
		"quantity":     "1Gi",
		"any":          []any{float64(1)},
		"timeKept":     "2026-12-01T07:00:00Z",
		"byMethodKept": float64(3),
	}
	got, err := Of(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Of: -want, +got:\n%s", diff)
	}
	rt, err := RoundTrip(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rt, got); diff != "" {
		t.Errorf("Of against the round trip: -round trip, +Of:\n%s", diff)
	}
}

// evenIsZero is zero, by its IsZero method, when it is even.
type evenIsZero int

func (e evenIsZero) IsZero() bool { return e%2 == 0 }

type X1 struct {
	X string
}

type X2 struct {
	X string
}

// conflict has two X at the same depth: json drops both.
type conflict struct {
	X1
	X2
	Y string `json:"y"`
}

type options struct {
	N int64  `json:"n,string"`
	Z string `json:"z,omitempty"`
}

// TestOfLeavesToJSON covers what the walk hands to the round trip: its
// result, and its error, are the round trip's.
func TestOfLeavesToJSON(t *testing.T) {
	cases := map[string]any{
		"conflicting names":  &conflict{X1: X1{X: "a"}, X2: X2{X: "b"}, Y: "y"},
		"tag options":        &options{N: 5},
		"non-string map key": map[int]string{1: "a"},
		"invalid UTF-8":      &inner{A: "\xff"},
		"invalid UTF-8 key":  map[string]int{"\xff": 1},
		"NaN":                []float64{math.NaN()},
		"infinity":           map[string]float32{"x": float32(math.Inf(1))},
		"func":               struct{ F func() }{},
		"nil":                (*inner)(nil),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantErr := RoundTrip(in)
			got, err := Of(in)
			if diff := cmp.Diff(errString(wantErr), errString(err)); diff != "" {
				t.Errorf("error: -round trip, +Of:\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("-round trip, +Of:\n%s", diff)
			}
		})
	}
}

// TestOfFilled compares Of with the round trip on randomly filled values of
// the rules type; the provider's types are compared in package compose.
func TestOfFilled(t *testing.T) {
	f := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(1, 2)), MaxDepth: 6}
	for i := range 2000 {
		v := reflect.New(reflect.TypeFor[rules]())
		f.Fill(v.Elem())
		want, wantErr := RoundTrip(v.Interface())
		got, err := Of(v.Interface())
		if diff := cmp.Diff(errString(wantErr), errString(err)); diff != "" {
			t.Fatalf("value %d: error: -round trip, +Of:\n%s", i, diff)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("value %d: -round trip, +Of:\n%s", i, diff)
		}
	}
}

// errString is err's message; go-json-experiment/json words its errors
// with "cannot" or "unable to" at random, so both read as "cannot".
func errString(err error) string {
	if err == nil {
		return ""
	}
	return strings.Replace(err.Error(), "json: unable to", "json: cannot", 1)
}

type concurrent struct {
	A *concurrent     `json:"a,omitempty"`
	B []string        `json:"b"`
	C map[string]*int `json:"c,omitempty"`
	T metav1.Time     `json:"t,omitzero"`
}

// TestOfConcurrent converts values of a type no other test uses from many
// goroutines at once, with Of and AppendStruct, so their encoders are built
// concurrently (run under make test-race).
func TestOfConcurrent(t *testing.T) {
	in := &concurrent{A: &concurrent{B: []string{"x"}}, C: map[string]*int{"k": nil}}
	want, err := RoundTrip(in)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := Of(in)
			if err != nil {
				t.Error(err)
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("-round trip, +Of:\n%s", diff)
			}
			b, err := AppendStruct(nil, in)
			if err != nil {
				t.Error(err)
				return
			}
			gotStruct := &structpb.Struct{}
			if err := proto.Unmarshal(b, gotStruct); err != nil {
				t.Error(err)
				return
			}
			if diff := cmp.Diff(want, any(gotStruct.AsMap())); diff != "" {
				t.Errorf("-round trip, +AppendStruct:\n%s", diff)
			}
		})
	}
	wg.Wait()
}
