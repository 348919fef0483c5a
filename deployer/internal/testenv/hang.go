package testenv

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// Hanging is a proxy in front of one AWS service's stand-in that never
// answers the requests Hang selects, as a service that does not answer (a
// network partition, a stalled connection) leaves the caller waiting until
// its context ends. Every other request is passed on.
type Hanging struct {
	hung atomic.Int32
}

// hangBound ends a hung request in case the caller never gives up, so the
// test server can close.
const hangBound = 2 * time.Minute

// StartHanging starts the proxy in front of the endpoint the AWS SDK uses
// for service (the suffix of AWS_ENDPOINT_URL_<service>, such as DYNAMODB;
// moto when that is not set) and points the SDK's client of that service at
// it. hang sees each request with its body. Clients built before the call
// keep talking to the stand-in directly.
func StartHanging(t *testing.T, service string, hang func(r *http.Request, body []byte) bool) *Hanging {
	t.Helper()
	upstream := os.Getenv("AWS_ENDPOINT_URL_" + service)
	if upstream == "" {
		if motoServer == nil {
			t.Fatal(MissingMotoMessage)
		}
		upstream = motoServer.Endpoint
	}
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &Hanging{}
	forward := httputil.NewSingleHostReverseProxy(target) //nolint:gosec // G704: the upstream is the test's own stand-in
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if hang(r, body) {
			proxy.hung.Add(1)
			select {
			case <-r.Context().Done():
			case <-time.After(hangBound):
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	t.Setenv("AWS_ENDPOINT_URL_"+service, server.URL)
	return proxy
}

// Hung is how many requests the proxy left unanswered.
func (h *Hanging) Hung() int { return int(h.hung.Load()) }

// Operation reports whether r is a call of operation of an AWS JSON
// protocol API (DynamoDB, CodePipeline, ECR), named in its X-Amz-Target
// header as <service>.<operation>.
func Operation(r *http.Request, operation string) bool {
	target := r.Header.Get("X-Amz-Target")
	return len(target) > len(operation) && target[len(target)-len(operation)-1:] == "."+operation
}
