package main

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/resource/composite"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
)

// specCacheSize bounds how many distinct specs the function remembers as
// checked: far more claims than one function instance usually serves, and
// at a few KB a decoded spec, a few hundred KB at most. A spec that fell
// out is checked again, never trusted unchecked.
const specCacheSize = 256

// A specCache remembers the outcome of defaulting, validating and decoding
// a spec (the decoded spec or the error), keyed by the SHA-256 of the spec's
// JSON (specKey), so the full OpenAPI and CEL validation of an unchanged spec is
// not paid on every reconcile. Crossplane calls the function on every
// reconcile of every claim and the spec rarely changes between them. It is
// safe for concurrent requests: they may both check a new spec, and store
// the same outcome; each caller gets its own deep copy of the spec.
type specCache struct {
	size int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]specOutcome
	order   [][sha256.Size]byte // oldest first, for eviction
}

// specOutcome is what DecodeSpec returned for a spec. spec is never handed
// out, only copies of it: callers may change what they get.
type specOutcome struct {
	spec    *v1alpha1.XCicdPipelineSpec
	invalid string
}

func newSpecCache(size int) *specCache {
	return &specCache{size: size, entries: make(map[[sha256.Size]byte]specOutcome, size)}
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

	o, hit := c.get(sum)
	if !hit {
		spec, err := DecodeSpec(xr)
		o = specOutcome{spec: spec}
		if err != nil {
			o.invalid = err.Error()
		}
		c.put(sum, o)
	}
	if o.invalid != "" {
		return nil, errors.New(o.invalid)
	}
	return o.spec.DeepCopy(), nil
}

func (c *specCache) get(k [sha256.Size]byte) (specOutcome, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.entries[k]
	return o, ok
}

func (c *specCache) put(k [sha256.Size]byte, o specOutcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return
	}
	for len(c.order) >= c.size {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[k] = o
	c.order = append(c.order, k)
}

// len is how many outcomes the cache holds.
func (c *specCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// specKey is the cache key of a spec: the SHA-256 of its JSON
// (encoding/json writes map keys sorted, so equal specs give equal bytes),
// and false if the spec cannot be encoded as JSON (then it is not
// remembered, as validSpecJSON fails on it).
func specKey(spec map[string]any) ([sha256.Size]byte, bool) {
	b, err := json.Marshal(spec)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(b), true
}
