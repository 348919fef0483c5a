package testenv

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
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

// Job is a CodePipeline job of the pipeline's Deploy action.
type Job struct {
	ID                string
	Pipeline          string
	Stage, Action     string
	ExecutionID       string
	Bucket, Key       string
	AccessKeyID       string
	UserParameters    string
	ContinuationToken string
	// Revision is the input artifact's revision (null in the event when
	// empty).
	Revision string
}

// CodePipeline is a stand-in for CodePipeline's job API (AWS JSON 1.1),
// which moto does not implement. Like CodePipeline, it issues every job,
// and a continuation of a job (a success result with a continuation token)
// as a new job with a new ID; it answers a second result for a job with
// InvalidJobStateException and a result for a job it never issued with
// JobNotFoundException (PutJobSuccessResult API reference, Errors). Its
// ListActionExecutions reports the Deploy action of each execution
// InProgress until the execution's last job has a final result.
//
// Like CodePipeline it also refuses a job ID that is not a job ID and texts
// longer than their limits with ValidationException (PutJobSuccessResult,
// PutJobFailureResult, ExecutionDetails and FailureDetails API references:
// jobId pattern [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12},
// continuationToken and summary 1-2048, message 1-5000,
// externalExecutionId 1-1500 characters), answers ListActionExecutions of
// an execution that is not the pipeline's with
// PipelineExecutionNotFoundException (ListActionExecutions API reference),
// and can throttle or fail ListActionExecutions like any AWS API ("Common
// Errors": ThrottlingException, InternalFailure). An action ends without a
// result as CodePipeline ends it: TimeOut (no reply for 20 minutes,
// "Quotas in AWS CodePipeline") makes it Failed, StopAndAbandon ("Stop a
// pipeline execution in CodePipeline") makes it Abandoned; either way its
// job takes no result any more (InvalidJobStateException).
type CodePipeline struct {
	URL   string
	mu    sync.Mutex
	calls []JobResult
	jobs  map[string]*Job
	done  map[string]bool   // job ID: has a result
	ended map[string]string // execution ID: Succeeded or Failed
	next  []*Job            // continuation jobs not yet taken
	failN int               // fail the next failN result calls with a 500
	// listFailures are the error codes the next ListActionExecutions calls
	// answer with, in order.
	listFailures []string
	server       *httptest.Server
}

// StartCodePipeline starts the stand-in on 127.0.0.1 for the test's
// duration and points the AWS SDK's CodePipeline client at it.
func StartCodePipeline(t *testing.T) *CodePipeline {
	t.Helper()
	fake := &CodePipeline{jobs: map[string]*Job{}, done: map[string]bool{}, ended: map[string]string{}}
	fake.server = httptest.NewServer(http.HandlerFunc(fake.serve))
	t.Cleanup(fake.server.Close)
	fake.URL = fake.server.URL
	t.Setenv("AWS_ENDPOINT_URL_CODEPIPELINE", fake.URL)
	return fake
}

// NewJob issues a job of the Deploy stage's Deploy action of pipeline in a
// new execution.
func (f *CodePipeline) NewJob(pipeline, bucket, key string) *Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	execution := uuid()
	job := &Job{ID: uuid(), Pipeline: pipeline, Stage: "Deploy", Action: "Deploy", ExecutionID: execution,
		Bucket: bucket, Key: key, AccessKeyID: "ASIAARTIFACT" + strings.ToUpper(rand.Text()[:8]),
		UserParameters: `{"pipelineExecutionId":"` + execution + `","commitId":"0a1b2c3d"}`}
	f.jobs[job.ID] = job
	return job
}

// NextJob returns the continuation job CodePipeline scheduled last, if any.
func (f *CodePipeline) NextJob() (*Job, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) == 0 {
		return nil, false
	}
	job := f.next[0]
	f.next = f.next[1:]
	return job, true
}

// FailNextResults makes the next n job-result calls fail as an unreachable
// CodePipeline would.
func (f *CodePipeline) FailNextResults(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN = n
}

// FailNextListings makes the next ListActionExecutions calls fail, one per
// code: ThrottlingException (400) or InternalFailure (500).
func (f *CodePipeline) FailNextListings(codes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listFailures = append(f.listFailures, codes...)
}

// TimeOut ends job's action as CodePipeline does when the function has not
// replied for 20 minutes: Failed, and the job takes no result.
func (f *CodePipeline) TimeOut(job *Job) {
	f.endWithoutResult(job, "Failed")
}

// StopAndAbandon stops job's execution abandoning its in-progress action:
// Abandoned, and the job takes no result.
func (f *CodePipeline) StopAndAbandon(job *Job) {
	f.endWithoutResult(job, "Abandoned")
}

func (f *CodePipeline) endWithoutResult(job *Job, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, issued := range f.jobs {
		if issued.ExecutionID == job.ExecutionID {
			f.done[id] = true
		}
	}
	f.ended[job.ExecutionID] = status
	f.next = slices.DeleteFunc(f.next, func(next *Job) bool { return next.ExecutionID == job.ExecutionID })
}

// Calls returns the recorded result calls, accepted or not, in order.
func (f *CodePipeline) Calls() []JobResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]JobResult(nil), f.calls...)
}

// Event builds the event CodePipeline sends the deployer for job.
func (job *Job) Event(t *testing.T) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"CodePipeline.job": map[string]any{
			"id":        job.ID,
			"accountId": DefaultAccountID,
			"data": map[string]any{
				"actionConfiguration": map[string]any{"configuration": map[string]any{
					"FunctionName": "cicd-deployer", "UserParameters": job.UserParameters,
				}},
				"inputArtifacts": []any{map[string]any{
					"name":     "BuildOutput",
					"revision": revisionOrNull(job.Revision),
					"location": map[string]any{"type": "S3", "s3Location": map[string]any{"bucketName": job.Bucket, "objectKey": job.Key}},
				}},
				"outputArtifacts": []any{},
				"artifactCredentials": map[string]any{
					"accessKeyId": job.AccessKeyID, "secretAccessKey": "artifact-secret", "sessionToken": "artifact-session",
				},
				"continuationToken": job.ContinuationToken,
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func revisionOrNull(revision string) any {
	if revision == "" {
		return nil
	}
	return revision
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (f *CodePipeline) serve(w http.ResponseWriter, r *http.Request) {
	operation, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "CodePipeline_20150709.")
	body, err := io.ReadAll(r.Body)
	if !ok || err != nil {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "unexpected request")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if operation == "ListActionExecutions" {
		f.listActionExecutions(w, body)
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
		writeError(w, http.StatusBadRequest, "ValidationException", "the request has no jobId")
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
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "the stand-in does not implement "+operation)
		return
	}
	f.calls = append(f.calls, call)
	if problem := invalidResult(in.JobID, in.ContinuationToken, in.ExecutionDetails.Summary, in.FailureDetails.Message,
		call.ExternalExecutionID, operation == "PutJobFailureResult"); problem != "" {
		writeError(w, http.StatusBadRequest, "ValidationException", problem)
		return
	}
	if f.failN > 0 {
		f.failN--
		writeError(w, http.StatusInternalServerError, "InternalFailure", "the stand-in fails this call on purpose")
		return
	}
	job, known := f.jobs[in.JobID]
	switch {
	case !known:
		writeError(w, http.StatusBadRequest, "JobNotFoundException", "job "+in.JobID+" cannot be found")
		return
	case f.done[in.JobID]:
		writeError(w, http.StatusBadRequest, "InvalidJobStateException", "job "+in.JobID+" already has a result")
		return
	}
	f.done[in.JobID] = true
	switch {
	case operation == "PutJobFailureResult":
		f.ended[job.ExecutionID] = "Failed"
	case in.ContinuationToken != "":
		next := *job
		next.ID = uuid()
		next.ContinuationToken = in.ContinuationToken
		f.jobs[next.ID] = &next
		f.next = append(f.next, &next)
	default:
		f.ended[job.ExecutionID] = "Succeeded"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write([]byte("{}"))
}

var jobIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// invalidResult checks a job result against the API references' constraints.
func invalidResult(jobID, token, summary, message, externalID string, failure bool) string {
	lengths := []struct {
		field      string
		value      string
		max        int
		required   bool
		applicable bool
	}{
		{"continuationToken", token, 2048, false, !failure},
		{"executionDetails.summary", summary, 2048, false, !failure},
		{"failureDetails.message", message, 5000, true, failure},
		{"externalExecutionId", externalID, 1500, false, true},
	}
	if !jobIDPattern.MatchString(jobID) {
		return "1 validation error detected: Value '" + jobID + "' at 'jobId' failed to satisfy constraint: Member must satisfy regular expression pattern"
	}
	for _, l := range lengths {
		n := utf8.RuneCountInString(l.value)
		if l.applicable && (n > l.max || (l.required && n == 0)) {
			return fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between 1 and %d (it has %d)", l.field, l.max, n)
		}
	}
	return ""
}

func (f *CodePipeline) listActionExecutions(w http.ResponseWriter, body []byte) {
	if len(f.listFailures) > 0 {
		code := f.listFailures[0]
		f.listFailures = f.listFailures[1:]
		status := http.StatusBadRequest
		if code == "InternalFailure" {
			status = http.StatusInternalServerError
		}
		writeError(w, status, code, "the stand-in fails this call on purpose")
		return
	}
	var in struct {
		PipelineName string `json:"pipelineName"`
		Filter       struct {
			PipelineExecutionID string `json:"pipelineExecutionId"`
		} `json:"filter"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.PipelineName == "" {
		writeError(w, http.StatusBadRequest, "ValidationException", "the request has no pipelineName")
		return
	}
	seen := map[string]bool{}
	details := []any{}
	known := false
	for _, job := range f.jobs {
		if job.Pipeline != in.PipelineName {
			continue
		}
		known = true
		if seen[job.ExecutionID] || (in.Filter.PipelineExecutionID != "" && job.ExecutionID != in.Filter.PipelineExecutionID) {
			continue
		}
		seen[job.ExecutionID] = true
		status := f.ended[job.ExecutionID]
		if status == "" {
			status = "InProgress"
		}
		details = append(details, map[string]any{
			"pipelineExecutionId": job.ExecutionID, "actionExecutionId": uuid(),
			"stageName": job.Stage, "actionName": job.Action, "status": status,
			"input": map[string]any{
				"actionTypeId":   map[string]any{"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
				"inputArtifacts": []any{map[string]any{"name": "BuildOutput", "s3location": map[string]any{"bucket": job.Bucket, "key": job.Key}}},
			},
		})
	}
	if !known {
		writeError(w, http.StatusBadRequest, "PipelineNotFoundException", "pipeline "+in.PipelineName+" does not exist")
		return
	}
	if in.Filter.PipelineExecutionID != "" && len(details) == 0 {
		writeError(w, http.StatusBadRequest, "PipelineExecutionNotFoundException", "execution "+in.Filter.PipelineExecutionID+" does not belong to pipeline "+in.PipelineName)
		return
	}
	out, err := json.Marshal(map[string]any{"actionExecutionDetails": details})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(out)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	body, err := json.Marshal(map[string]string{"__type": code, "message": message})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
