package testenv

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// SlowLambda is a proxy in front of moto's Lambda API that makes every code
// update take Polls status reads, as a real image update takes seconds to
// minutes: until then GetFunctionConfiguration and GetFunction report
// LastUpdateStatus InProgress, and UpdateFunctionCode and PublishVersion
// are refused with ResourceConflictException ("The operation cannot be
// performed at this time. An update is in progress", UpdateFunctionCode API
// reference). It also enforces PublishVersion's CodeSha256 guard, which
// moto ignores: a mismatch is PreconditionFailedException. Two things moto
// never does can be injected: a function whose last update Failed
// (FailedLastUpdate), and another caller's update that starts just before
// one of the deployer's calls (ForeignUpdateBefore). Aliases are moto's,
// which keeps and reports an alias's RoutingConfig (weighted routing) as
// Lambda does.
type SlowLambda struct {
	// Polls is how many status reads an update takes (SetPolls changes it).
	Polls int
	// OnPoll, when set, runs on each InProgress status read with the
	// function's name and the reads left.
	OnPoll func(function string, left int)

	mu      sync.Mutex
	pending map[string]int
	failed  map[string]bool   // function: its last update Failed
	foreign map[string]string // function: the call before which another caller's update starts
	moto    string
}

// FailedLastUpdate makes function report LastUpdateStatus Failed until an
// update of it is accepted: Lambda "aborted the update and the function's
// previous code and configuration remain available" ("Lambda function
// states", Lambda Developer Guide). The function's code is left as it is.
func (p *SlowLambda) FailedLastUpdate(function string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed[function] = true
}

// ForeignUpdateBefore starts another caller's update of function (Polls
// status reads long) when the next call of operation (UpdateFunctionCode or
// PublishVersion) on it arrives, after the deployer last read the status:
// Lambda refuses that call with ResourceConflictException.
func (p *SlowLambda) ForeignUpdateBefore(function, operation string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.foreign[function] = operation
}

var functionPath = regexp.MustCompile(`^/2015-03-31/functions/([^/]+)(/code|/configuration|/versions)?$`)

// StartSlowLambda starts the proxy and points the AWS SDK's Lambda client
// at it. Clients built before the call keep talking to moto directly.
func StartSlowLambda(t *testing.T, polls int) *SlowLambda {
	t.Helper()
	if motoServer == nil {
		t.Fatal(MissingMotoMessage)
	}
	proxy := &SlowLambda{Polls: polls, pending: map[string]int{}, failed: map[string]bool{}, foreign: map[string]string{}, moto: motoServer.Endpoint}
	target, err := url.Parse(motoServer.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxy.serve(w, r, forward) }))
	t.Cleanup(server.Close)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", server.URL)
	return proxy
}

// SetPolls changes how many status reads later updates take, and ends the
// updates in progress.
func (p *SlowLambda) SetPolls(polls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Polls = polls
	clear(p.pending)
}

func (p *SlowLambda) serve(w http.ResponseWriter, r *http.Request, forward http.Handler) {
	match := functionPath.FindStringSubmatch(r.URL.EscapedPath())
	if match == nil {
		forward.ServeHTTP(w, r)
		return
	}
	name, _ := url.PathUnescape(match[1])
	if i := strings.LastIndex(name, ":function:"); i >= 0 {
		name = name[i+len(":function:"):]
	}
	operation := ""
	switch {
	case r.Method == http.MethodPut && match[2] == "/code":
		operation = "UpdateFunctionCode"
	case r.Method == http.MethodPost && match[2] == "/versions":
		operation = "PublishVersion"
	}
	p.mu.Lock()
	if operation != "" && p.foreign[name] == operation {
		delete(p.foreign, name)
		p.pending[name] = max(p.Polls, 1)
	}
	left := p.pending[name]
	failed := p.failed[name]
	p.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && match[2] == "/code":
		if left > 0 {
			lambdaError(w, http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: "+name)
			return
		}
		recorder := httptest.NewRecorder()
		forward.ServeHTTP(recorder, r)
		if recorder.Code == http.StatusOK {
			p.mu.Lock()
			p.pending[name] = p.Polls
			delete(p.failed, name)
			p.mu.Unlock()
		}
		copyResponse(w, recorder, nil)
	case r.Method == http.MethodPost && match[2] == "/versions":
		if left > 0 {
			lambdaError(w, http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: "+name)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct {
			CodeSha256 string `json:"CodeSha256"`
		}
		_ = json.Unmarshal(body, &in)
		if in.CodeSha256 != "" {
			if current := p.codeSha256(r, match[1]); current != in.CodeSha256 {
				lambdaError(w, http.StatusPreconditionFailed, "PreconditionFailedException", "CodeSha256 "+in.CodeSha256+" does not match the function's code "+current)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		forward.ServeHTTP(w, r)
	case r.Method == http.MethodGet && left > 0 && r.URL.Query().Get("Qualifier") == "":
		recorder := httptest.NewRecorder()
		forward.ServeHTTP(recorder, r)
		copyResponse(w, recorder, func(body map[string]any) {
			config := body
			if c, ok := body["Configuration"].(map[string]any); ok {
				config = c
			}
			config["LastUpdateStatus"] = "InProgress"
		})
		if match[2] == "/configuration" {
			p.mu.Lock()
			p.pending[name]--
			left = p.pending[name]
			p.mu.Unlock()
			if p.OnPoll != nil {
				p.OnPoll(name, left)
			}
		}
	case r.Method == http.MethodGet && failed && r.URL.Query().Get("Qualifier") == "":
		recorder := httptest.NewRecorder()
		forward.ServeHTTP(recorder, r)
		copyResponse(w, recorder, func(body map[string]any) {
			config := body
			if c, ok := body["Configuration"].(map[string]any); ok {
				config = c
			}
			config["LastUpdateStatus"] = "Failed"
			config["LastUpdateStatusReason"] = "an earlier update failed"
			config["LastUpdateStatusReasonCode"] = "ImageAccessDenied"
		})
	default:
		forward.ServeHTTP(w, r)
	}
}

// codeSha256 reads the function's current CodeSha256 from moto, with the
// caller's signature (moto picks the account from the access key).
func (p *SlowLambda) codeSha256(r *http.Request, escapedName string) string {
	// The stand-in asks its own moto_server about a function named in a test.
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.moto+"/2015-03-31/functions/"+escapedName+"/configuration", nil) //nolint:gosec // G704: the host is the test's moto_server
	if err != nil {
		return ""
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // G704: the host is the test's moto_server
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var config struct {
		CodeSha256 string `json:"CodeSha256"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&config)
	return config.CodeSha256
}

func copyResponse(w http.ResponseWriter, recorder *httptest.ResponseRecorder, edit func(map[string]any)) {
	body := recorder.Body.Bytes()
	if edit != nil && recorder.Code == http.StatusOK {
		var decoded map[string]any
		if json.Unmarshal(body, &decoded) == nil {
			edit(decoded)
			if edited, err := json.Marshal(decoded); err == nil {
				body = edited
			}
		}
	}
	for key, values := range recorder.Header() {
		if key == "Content-Length" {
			continue
		}
		w.Header()[key] = values
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(recorder.Code)
	_, _ = w.Write(body)
}

func lambdaError(w http.ResponseWriter, status int, code, message string) {
	body, err := json.Marshal(map[string]string{"Type": "User", "message": message})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ArtifactStore is a proxy in front of moto's S3 that lets only the job's
// artifact credentials read the artifact bucket, as CodePipeline's
// temporary artifact credentials are the only ones the deployer may use
// for it. It checks the access key in the request's SigV4 Authorization
// header and records the keys that read.
type ArtifactStore struct {
	// Allowed reports whether an access key may read the artifact bucket.
	Allowed func(accessKeyID string) bool

	mu      sync.Mutex
	readers []string
}

var credentialKey = regexp.MustCompile(`Credential=([^/]+)/`)

// StartArtifactStore starts the proxy and points the AWS SDK's S3 client at
// it. Clients built before the call keep talking to moto directly.
func StartArtifactStore(t *testing.T, allowed func(string) bool) *ArtifactStore {
	t.Helper()
	if motoServer == nil {
		t.Fatal(MissingMotoMessage)
	}
	store := &ArtifactStore{Allowed: allowed}
	target, err := url.Parse(motoServer.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && (strings.HasPrefix(r.URL.Path, "/"+ArtifactBucket+"/") || strings.HasPrefix(r.Host, ArtifactBucket+".")) {
			key := ""
			if m := credentialKey.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
				key = m[1]
			}
			store.mu.Lock()
			store.readers = append(store.readers, key)
			store.mu.Unlock()
			if !store.Allowed(key) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied: ` + html.EscapeString(key) + ` may not read the artifact bucket</Message></Error>`))
				return
			}
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	t.Setenv("AWS_ENDPOINT_URL_S3", server.URL)
	return store
}

// Readers returns the access keys that read the artifact bucket, in order.
func (s *ArtifactStore) Readers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.readers...)
}
