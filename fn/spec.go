package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/lru"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
)

// specCacheSize bounds how many distinct specs the function remembers as
// checked: far more claims than one function instance usually serves, and
// at a few KB a decoded spec, a few hundred KB at most. A spec that fell
// out is checked again, never trusted unchecked.
const specCacheSize = 256

// A specCache remembers the outcome of defaulting, validating and decoding
// a spec (the decoded spec or the error), keyed by a SHA-256 of the spec
// (specKey), so the full OpenAPI and CEL validation of an unchanged spec is
// not paid on every reconcile. Crossplane calls the function on every
// reconcile of every claim and the spec rarely changes between them. It
// holds the claim API's outcomes and, apart, the namespaced API's checks
// (scopeOf). It is safe for concurrent requests (lru.Cache locks): they may
// both check a new spec, and store the same outcome; each caller gets its
// own deep copy of the spec.
type specCache struct {
	outcomes   *lru.Cache // [sha256.Size]byte -> outcome[*v1alpha1.XCicdPipelineSpec]
	namespaced *lru.Cache // [sha256.Size]byte -> outcome[map[string]any]
}

// An outcome is what checking a spec gave: the checked value, or why the
// spec is invalid. value is never handed out, only copies of it: callers
// may change what they get.
type outcome[T any] struct {
	value   T
	invalid string
}

func newSpecCache(size int) *specCache {
	return &specCache{outcomes: lru.New(size), namespaced: lru.New(size)}
}

// remember returns check's outcome for the spec with key sum, checking it
// only if the cache does not hold it, and a copy of the value.
func remember[T any](c *lru.Cache, sum [sha256.Size]byte, check func() (T, error), clone func(T) T) (T, error) {
	var o outcome[T]
	if v, hit := c.Get(sum); hit {
		o, _ = v.(outcome[T]) // Each cache holds one type of outcome.
	} else {
		value, err := check()
		o = outcome[T]{value: value}
		if err != nil {
			o.invalid = err.Error()
		}
		c.Add(sum, o)
	}
	if o.invalid != "" {
		var zero T
		return zero, errors.New(o.invalid)
	}
	return clone(o.value), nil
}

// DecodeSpec is the package's DecodeSpec, remembering each spec's outcome.
// The outcome depends only on the spec (validSpecJSON reads nothing else and
// the schema is fixed for the process), so the key is the whole spec.
func (c *specCache) DecodeSpec(xr *composite.Unstructured) (*v1alpha1.XCicdPipelineSpec, error) {
	raw, ok := xr.Object["spec"].(map[string]any)
	if _, err := xrd.Validator(); !ok || err != nil {
		// Not remembered: no spec, or no schema to check it against.
		return DecodeSpec(xr)
	}
	sum, ok := specKey(raw)
	if !ok {
		return DecodeSpec(xr)
	}
	return remember(c.outcomes, sum, func() (*v1alpha1.XCicdPipelineSpec, error) { return DecodeSpec(xr) },
		(*v1alpha1.XCicdPipelineSpec).DeepCopy)
}

// CheckNamespaced is checkNamespaced, remembering each spec's outcome: the
// outcome depends only on the spec.
func (c *specCache) CheckNamespaced(spec map[string]any) (map[string]any, error) {
	sum, ok := specKey(spec)
	if !ok {
		return checkNamespaced(spec)
	}
	return remember(c.namespaced, sum, func() (map[string]any, error) { return checkNamespaced(spec) }, runtime.DeepCopyJSON)
}

// len is how many claim outcomes the cache holds.
func (c *specCache) len() int { return c.outcomes.Len() }

// specKey is the cache key of a spec, and false if the spec cannot be
// encoded as JSON (then it is not remembered, as validSpecJSON fails on it).
//
// Specs decoded from a RunFunctionRequest hold only maps, slices, valid
// UTF-8 strings, finite float64s, bools and nils (protobuf's Struct has
// nothing else and refuses invalid UTF-8); these are written straight into
// the hash in a canonical binary form (hashValue), without building the
// spec's JSON. That form is injective, so two such specs get the same key
// exactly when they are equal (up to SHA-256 collisions), which is what the
// outcome depends on. A spec holding anything else (an int64 from a Go
// caller, invalid UTF-8) is keyed by the SHA-256 of its JSON, as before this
// form: equal JSON, equal key, so invalid UTF-8 strings that JSON encodes
// alike share one, as they always did. The binary form starts with a zero
// byte, which JSON never does, so the two kinds of key cannot meet.
func specKey(spec map[string]any) ([sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	e, ok := keyEncoders.Get().(*keyEncoder)
	if !ok {
		e = newKeyEncoder()
	}
	defer keyEncoders.Put(e)
	e.reset()
	e.buf = append(e.buf, 0)
	if e.value(spec) {
		e.flush()
		e.sum = e.h.Sum(e.sum[:0])
		copy(sum[:], e.sum)
		return sum, true
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return sum, false
	}
	return sha256.Sum256(b), true
}

// Tags of hashValue's canonical form: each value is its tag, then for
// strings their length and bytes, for numbers their IEEE 754 bits, for
// maps and slices their length and entries (maps by sorted key), so the
// form is prefix-free and no two different values share it.
const (
	tagNull   = 'n'
	tagFalse  = 'f'
	tagTrue   = 't'
	tagNumber = 'd'
	tagString = 's'
	tagArray  = 'a'
	tagObject = 'o'
)

var keyEncoders = sync.Pool{New: func() any { return newKeyEncoder() }}

func newKeyEncoder() *keyEncoder { return &keyEncoder{h: sha256.New()} }

// A keyEncoder writes a value's canonical form into a SHA-256, through a
// small buffer so that the hash sees few, large writes.
type keyEncoder struct {
	h    hash.Hash
	buf  []byte
	keys []string // sorted keys of the maps being walked, innermost last
	sum  []byte   // the hash's sum, kept so that Sum does not allocate
}

// keyBufSize is when the buffer is written to the hash.
const keyBufSize = 512

func (e *keyEncoder) reset() {
	e.h.Reset()
	e.buf = e.buf[:0]
	e.keys = e.keys[:0]
}

func (e *keyEncoder) flush() {
	_, _ = e.h.Write(e.buf) // hash.Hash's Write never fails
	e.buf = e.buf[:0]
}

// value writes v's canonical form, and returns false for a value whose
// encoding/json form is not one-to-one with it (see specKey).
func (e *keyEncoder) value(v any) bool {
	if len(e.buf) >= keyBufSize {
		e.flush()
	}
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, tagNull)
	case bool:
		if v {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
		e.buf = append(e.buf, tagNumber)
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(v))
	case string:
		e.buf = append(e.buf, tagString)
		return e.string(v)
	case []any:
		e.buf = append(e.buf, tagArray)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(v)))
		for _, x := range v {
			if !e.value(x) {
				return false
			}
		}
	case map[string]any:
		e.buf = append(e.buf, tagObject)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(v)))
		start := len(e.keys)
		for k := range v {
			e.keys = append(e.keys, k)
		}
		// Nested maps append to e.keys, perhaps moving it; keys stays
		// this map's.
		keys := e.keys[start:]
		slices.Sort(keys)
		for _, k := range keys {
			if !e.string(k) || !e.value(v[k]) {
				return false
			}
		}
		e.keys = e.keys[:start]
	default:
		return false
	}
	return true
}

// string writes s's length and bytes; false if s is not valid UTF-8, which
// encoding/json would not encode one-to-one.
func (e *keyEncoder) string(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	// A long string goes through the buffer in pieces, not copied whole.
	for len(s) > keyBufSize {
		e.buf = append(e.buf, s[:keyBufSize]...)
		e.flush()
		s = s[keyBufSize:]
	}
	e.buf = append(e.buf, s...)
	return true
}
