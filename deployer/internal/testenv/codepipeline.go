package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// JobResult is one job-result call the deployer made to CodePipeline.
type JobResult struct {
	Operation           string // PutJobSuccessResult or PutJobFailureResult
	JobID               string
	ContinuationToken   string
	Summary             string
	FailureType         string
	FailureMessage      string
	ExternalExecutionID string
}

// CodePipeline is a fake of CodePipeline's job-result API (AWS JSON 1.1),
// which moto does not implement. It records the calls.
type CodePipeline struct {
	URL    string
	mu     sync.Mutex
	calls  []JobResult
	server *httptest.Server
}

// StartCodePipeline starts the fake on 127.0.0.1 for the test's duration and
// points the AWS SDK's CodePipeline client at it.
func StartCodePipeline(t *testing.T) *CodePipeline {
	t.Helper()
	fake := &CodePipeline{}
	fake.server = httptest.NewServer(http.HandlerFunc(fake.serve))
	t.Cleanup(fake.server.Close)
	fake.URL = fake.server.URL
	t.Setenv("AWS_ENDPOINT_URL_CODEPIPELINE", fake.URL)
	return fake
}

// Calls returns the recorded calls in order.
func (f *CodePipeline) Calls() []JobResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]JobResult(nil), f.calls...)
}

func (f *CodePipeline) serve(w http.ResponseWriter, r *http.Request) {
	operation, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "CodePipeline_20150709.")
	body, err := io.ReadAll(r.Body)
	if !ok || err != nil {
		writeError(w, "UnknownOperationException", "unexpected request")
		return
	}
	var in struct {
		JobID             string `json:"jobId"`
		ContinuationToken string `json:"continuationToken"`
		ExecutionDetails  struct {
			Summary             string `json:"summary"`
			ExternalExecutionID string `json:"externalExecutionId"`
		} `json:"executionDetails"`
		FailureDetails struct {
			Type                string `json:"type"`
			Message             string `json:"message"`
			ExternalExecutionID string `json:"externalExecutionId"`
		} `json:"failureDetails"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.JobID == "" {
		writeError(w, "ValidationException", "the request has no jobId")
		return
	}
	call := JobResult{Operation: operation, JobID: in.JobID}
	switch operation {
	case "PutJobSuccessResult":
		call.ContinuationToken = in.ContinuationToken
		call.Summary = in.ExecutionDetails.Summary
		call.ExternalExecutionID = in.ExecutionDetails.ExternalExecutionID
	case "PutJobFailureResult":
		call.FailureType = in.FailureDetails.Type
		call.FailureMessage = in.FailureDetails.Message
		call.ExternalExecutionID = in.FailureDetails.ExternalExecutionID
	default:
		writeError(w, "UnknownOperationException", "the fake only implements job results, not "+operation)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write([]byte("{}"))
}

func writeError(w http.ResponseWriter, code, message string) {
	body, err := json.Marshal(map[string]string{"__type": code, "message": message})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}
