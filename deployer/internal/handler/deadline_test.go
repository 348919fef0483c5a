package handler

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/testenv"
)

// TestUnansweredCallsEndBeforeTheDeadline: an AWS service that never
// answers must not hold the invocation past its deadline, where Lambda
// stops it ("Configure Lambda function timeout", Lambda Developer Guide)
// and the job is left without a result until CodePipeline times it out.
// Every call ends with the step context, half the margin before the
// deadline, and the job is reported in the reserve that is left: a hand-off
// when the deployment is recorded, a failure when nothing was started, or
// a failed invocation (which Lambda retries) when CodePipeline did not
// confirm the job.
func TestUnansweredCallsEndBeforeTheDeadline(t *testing.T) {
	cases := map[string]struct {
		service string
		hang    func(r *http.Request, body []byte) bool
		timeout time.Duration
		// want is the job's one result ("" for none: the invocation fails),
		// and whether it carries a continuation token.
		want      string
		wantToken bool
	}{
		"verifying the job (ListActionExecutions)": {
			service: "CODEPIPELINE",
			hang:    func(r *http.Request, _ []byte) bool { return testenv.Operation(r, "ListActionExecutions") },
			timeout: 4 * time.Second,
		},
		"reading the artifact with the job's credentials (S3)": {
			service: "S3",
			hang:    func(r *http.Request, _ []byte) bool { return r.Method == http.MethodGet },
			timeout: 4 * time.Second,
			want:    "PutJobFailureResult",
		},
		"reserving the job (DynamoDB)": {
			service: "DYNAMODB",
			hang: func(r *http.Request, body []byte) bool {
				return testenv.Operation(r, "PutItem") && bytes.Contains(body, []byte(`"recordTimestamp"`))
			},
			timeout: 4 * time.Second,
			want:    "PutJobFailureResult",
		},
		"leasing the targets (DynamoDB)": {
			service: "DYNAMODB",
			hang: func(r *http.Request, body []byte) bool {
				return testenv.Operation(r, "PutItem") && bytes.Contains(body, []byte(`"lease#`))
			},
			timeout:   4 * time.Second,
			want:      "PutJobSuccessResult",
			wantToken: true,
		},
		"tagging the deployed image (ECR)": {
			service: "ECR",
			hang:    func(r *http.Request, _ []byte) bool { return testenv.Operation(r, "BatchGetImage") },
			timeout: 10 * time.Second,
			want:    "PutJobSuccessResult",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 0)
			job := w.newJob(t, w.v2)
			hanging := testenv.StartHanging(t, tc.service, tc.hang)
			// The margin leaves the steps all but the last 2 s; AWS calls
			// end 1 s before the deadline.
			h := w.handler(t, 2*time.Second)
			deadline := time.Now().Add(tc.timeout)
			result, err := invokeWithin(t, h, job.Event(t), tc.timeout)
			if late := time.Since(deadline); late >= 0 {
				t.Errorf("the invocation returned %s after its deadline", late)
			}
			if hanging.Hung() == 0 {
				t.Fatal("no call was left unanswered: the case tests nothing")
			}
			calls := w.pipeline.Calls()
			if tc.want == "" {
				if err == nil || len(calls) != 0 {
					t.Errorf("result %+v, error %v, job results %+v; want the invocation failed with no result, so that Lambda retries", result, err, calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if len(calls) != 1 || calls[0].Operation != tc.want || calls[0].JobID != job.ID || (calls[0].ContinuationToken != "") != tc.wantToken {
				t.Fatalf("job results %+v; want one %s on job %s (continuation token: %t)", calls, tc.want, job.ID, tc.wantToken)
			}
			if tc.want == "PutJobFailureResult" && !strings.HasPrefix(calls[0].FailureMessage, "Nothing was deployed") {
				t.Errorf("failure message %q; want it to say nothing was deployed", calls[0].FailureMessage)
			}
		})
	}
}
