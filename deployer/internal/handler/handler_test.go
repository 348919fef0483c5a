package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// recordedJobResults is an in-process JobResults that records the calls.
type recordedJobResults struct{ calls []string }

func (r *recordedJobResults) PutJobSuccessResult(_ context.Context, in *codepipeline.PutJobSuccessResultInput, _ ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	r.calls = append(r.calls, "success "+aws.ToString(in.JobId))
	return &codepipeline.PutJobSuccessResultOutput{}, nil
}

func (r *recordedJobResults) PutJobFailureResult(_ context.Context, in *codepipeline.PutJobFailureResultInput, _ ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	r.calls = append(r.calls, "failure "+aws.ToString(in.JobId)+" "+string(in.FailureDetails.Type)+": "+aws.ToString(in.FailureDetails.Message))
	return &codepipeline.PutJobFailureResultOutput{}, nil
}

// unusedTable fails the test if the handler touches the table: none of the
// events below may get that far.
type unusedTable struct{ awsapi.Table }

func jobWith(t *testing.T, userParameters string) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"CodePipeline.job": map[string]any{
		"id": "job-9",
		"data": map[string]any{
			"actionConfiguration": map[string]any{"configuration": map[string]any{"UserParameters": userParameters}},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestMalformedEventsAreRejectedWithoutPanicking invokes the handler
// in-process with events that must never deploy anything.
func TestMalformedEventsAreRejectedWithoutPanicking(t *testing.T) {
	cases := map[string]struct {
		event string
		// wantError is a part of the invocation's error; empty when the job
		// is failed through CodePipeline instead.
		wantError string
		// wantReport is a part of the one failure reported for job-9.
		wantReport string
	}{
		"not an object": {
			event:     `["CodePipeline.job"]`,
			wantError: "the event is not a JSON object",
		},
		"neither a job nor a request": {
			event:     `{"Records":[]}`,
			wantError: "unrecognised event",
		},
		"job without an ID": {
			event:     `{"CodePipeline.job":{"data":{}}}`,
			wantError: "has no job ID",
		},
		"job of the wrong shape without an ID": {
			event:     `{"CodePipeline.job":"job-9"}`,
			wantError: "malformed and has no job ID",
		},
		"job of the wrong shape": {
			event:      `{"CodePipeline.job":{"id":"job-9","data":{"inputArtifacts":"BuildOutput"}}}`,
			wantReport: "failure job-9 ConfigurationError: Nothing was deployed: the CodePipeline job event is malformed",
		},
		"no UserParameters": {
			event:      jobWith(t, ""),
			wantReport: "the Deploy action has no UserParameters",
		},
		"UserParameters not JSON": {
			event:      jobWith(t, "api,worker"),
			wantReport: "UserParameters are not valid deployer parameters",
		},
		"UserParameters with an unknown field": {
			event:      jobWith(t, `{"pipelineExecutionId":"e-1","target":"x"}`),
			wantReport: `unknown field "target"`,
		},
		"UserParameters without the execution": {
			event:      jobWith(t, `{"commitId":"abc"}`),
			wantReport: "have no pipelineExecutionId",
		},
		"no input artifact": {
			event:      jobWith(t, `{"pipelineExecutionId":"e-1"}`),
			wantReport: "the Deploy action has no input artifact",
		},
		"rollback request with an unknown action": {
			event:     `{"action":"deploy"}`,
			wantError: `unknown action "deploy"`,
		},
		"rollback request with an unknown field": {
			event:     `{"action":"rollback","target":"api"}`,
			wantError: "the rollback request is malformed",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			jobs := &recordedJobResults{}
			h := New(Config{Table: "unused"}, Deps{Table: unusedTable{}, JobResults: jobs}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
			result, err := h.Handle(context.Background(), json.RawMessage(tc.event))
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("Handle() error = %v, want it to contain %q", err, tc.wantError)
				}
				if len(jobs.calls) != 0 {
					t.Errorf("reported %v for an event without a job ID", jobs.calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle() error = %v; a bad job is failed through CodePipeline", err)
			}
			if result.Status != StatusRejected {
				t.Errorf("Handle() status = %s, want %s", result.Status, StatusRejected)
			}
			if len(jobs.calls) != 1 || !strings.HasPrefix(jobs.calls[0], "failure job-9 ConfigurationError: ") || !strings.Contains(jobs.calls[0], tc.wantReport) {
				t.Errorf("job results = %q, want one ConfigurationError failure containing %q", jobs.calls, tc.wantReport)
			}
		})
	}
}

func TestMisconfiguredDeployerFailsJobs(t *testing.T) {
	jobs := &recordedJobResults{}
	_, cause := ConfigFromEnv(func(string) string { return "" })
	handle := Misconfigured(cause, jobs, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	result, err := handle(context.Background(), json.RawMessage(jobWith(t, "{}")))
	if err != nil {
		t.Fatalf("handle() error = %v", err)
	}
	message := "Nothing was deployed: the deployer is misconfigured: DEPLOYMENT_TABLE is not set: the composition function sets it to the deployment-history table's name"
	if diff := cmp.Diff([]string{"failure job-9 ConfigurationError: " + message}, jobs.calls); diff != "" {
		t.Errorf("job results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&Result{JobID: "job-9", Status: StatusRejected, Message: message}, result); diff != "" {
		t.Errorf("handle() result (-want +got):\n%s", diff)
	}
	// A failure CodePipeline did not take fails the invocation, so that
	// Lambda retries it.
	unreported := Misconfigured(cause, &failingJobResults{}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	if result, err := unreported(context.Background(), json.RawMessage(jobWith(t, "{}"))); err == nil || result != nil {
		t.Errorf("handle() with an unreachable CodePipeline = %+v, %v; want no result and the reporting error", result, err)
	}
	// Without a job to fail, the invocation fails with the cause.
	if _, err := handle(context.Background(), json.RawMessage(`{"action":"rollback"}`)); err == nil || !strings.Contains(err.Error(), "the deployer is misconfigured: DEPLOYMENT_TABLE is not set") {
		t.Errorf("handle() of a rollback request = %v, want the misconfiguration", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	cases := map[string]struct {
		env       map[string]string
		want      Config
		wantError string
	}{
		"defaults": {
			env:  map[string]string{"DEPLOYMENT_TABLE": "t", "PIPELINE_NAME": "p", "ENVIRONMENT_SUFFIX": "prod"},
			want: Config{Table: "t", PipelineName: "p", Environment: "prod", DeadlineMargin: 30 * time.Second, PollInterval: 2 * time.Second},
		},
		"tuned": {
			env:  map[string]string{"DEPLOYMENT_TABLE": "t", "PIPELINE_NAME": "p", "DEPLOYER_DEADLINE_MARGIN": "1m", "DEPLOYER_POLL_INTERVAL": "500ms"},
			want: Config{Table: "t", PipelineName: "p", DeadlineMargin: time.Minute, PollInterval: 500 * time.Millisecond},
		},
		"no table": {
			env:       map[string]string{},
			wantError: "DEPLOYMENT_TABLE is not set",
		},
		"no pipeline": {
			env:       map[string]string{"DEPLOYMENT_TABLE": "t"},
			wantError: "PIPELINE_NAME is not set",
		},
		// Zero is a duration the deployer can run with (no margin, no pause
		// between polls); only a negative one is refused.
		"zero durations": {
			env:  map[string]string{"DEPLOYMENT_TABLE": "t", "PIPELINE_NAME": "p", "DEPLOYER_DEADLINE_MARGIN": "0s", "DEPLOYER_POLL_INTERVAL": "0s"},
			want: Config{Table: "t", PipelineName: "p"},
		},
		"negative duration": {
			env:       map[string]string{"DEPLOYMENT_TABLE": "t", "PIPELINE_NAME": "p", "DEPLOYER_DEADLINE_MARGIN": "-1ns"},
			wantError: `DEPLOYER_DEADLINE_MARGIN="-1ns" is not a non-negative Go duration`,
		},
		"bad duration": {
			env:       map[string]string{"DEPLOYMENT_TABLE": "t", "PIPELINE_NAME": "p", "DEPLOYER_POLL_INTERVAL": "2"},
			wantError: `DEPLOYER_POLL_INTERVAL="2" is not a non-negative Go duration`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(key string) string { return tc.env[key] })
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("ConfigFromEnv() error = %v, want it to contain %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ConfigFromEnv() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseUserParameters(t *testing.T) {
	got, err := ParseUserParameters(`{"pipelineExecutionId":"e-1","commitId":"abc"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got.PipelineExecutionID != "e-1" || got.CommitID != "abc" {
		t.Errorf("ParseUserParameters() = %+v", got)
	}
}

func TestParseTargets(t *testing.T) {
	cases := map[string]struct {
		raw       string
		want      []contract.Target
		wantError string
	}{
		"valid": {
			raw: `{"targets":[{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:api","alias":"live"},` +
				`{"functionName":"worker","roleArn":"arn:aws:iam::444455556666:role/deploy-target"}]}`,
			want: []contract.Target{
				{FunctionName: "arn:aws:lambda:eu-west-1:111122223333:function:api", Alias: "live"},
				{FunctionName: "worker", RoleARN: "arn:aws:iam::444455556666:role/deploy-target"},
			},
		},
		"bad target": {
			raw: `{"targets":[{"functionName":"api:live","roleArn":"admin","alias":"7"}]}`,
			wantError: `targets[0].functionName "api:live" is not a Lambda function name or unqualified function ARN` + "\n" +
				`targets[0].roleArn "admin" is not an IAM role ARN` + "\n" + `targets[0].alias "7" is not a Lambda alias name`,
		},
		// ExternalId of AssumeRole: 2-1224 characters of [\w+=,.@:\/-]
		// (STS API reference).
		"external ID": {
			raw:  `{"targets":[{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target","externalId":"tenant=42,env:prod/a.b@c-d_e+f"}]}`,
			want: []contract.Target{{FunctionName: "api", RoleARN: "arn:aws:iam::444455556666:role/deploy-target", ExternalID: "tenant=42,env:prod/a.b@c-d_e+f"}},
		},
		"external ID of 1224 characters": {
			raw:  `{"targets":[{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target","externalId":"` + strings.Repeat("x", 1224) + `"}]}`,
			want: []contract.Target{{FunctionName: "api", RoleARN: "arn:aws:iam::444455556666:role/deploy-target", ExternalID: strings.Repeat("x", 1224)}},
		},
		"external ID of 2 characters": {
			raw:  `{"targets":[{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target","externalId":"x1"}]}`,
			want: []contract.Target{{FunctionName: "api", RoleARN: "arn:aws:iam::444455556666:role/deploy-target", ExternalID: "x1"}},
		},
		"external ID without a role": {
			raw:       `{"targets":[{"functionName":"api","externalId":"tenant-42"}]}`,
			wantError: "targets[0].externalId is set without a roleArn",
		},
		"external ID too short": {
			raw:       `{"targets":[{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target","externalId":"x"}]}`,
			wantError: "targets[0].externalId is not an STS external ID",
		},
		"external ID too long": {
			raw:       `{"targets":[{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target","externalId":"` + strings.Repeat("x", 1225) + `"}]}`,
			wantError: "targets[0].externalId is not an STS external ID",
		},
		"external ID with a space": {
			raw:       `{"targets":[{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target","externalId":"tenant 42"}]}`,
			wantError: "targets[0].externalId is not an STS external ID",
		},
		"same name twice": {
			raw:       `{"targets":[{"functionName":"api"},{"functionName":"api","alias":"live"}]}`,
			wantError: "targets[1] deploys to api a second time",
		},
		"by name and by ARN": {
			raw:       `{"targets":[{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:api"},{"functionName":"api"}]}`,
			wantError: "targets[1] deploys to api a second time (targets[0] is arn:aws:lambda:eu-west-1:111122223333:function:api)",
		},
		"by partial ARN and by ARN": {
			raw:       `{"targets":[{"functionName":"111122223333:function:api"},{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:api"}]}`,
			wantError: "targets[1] deploys to",
		},
		"same name in two accounts": {
			raw: `{"targets":[{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:api"},{"functionName":"arn:aws:lambda:eu-west-1:444455556666:function:api"}]}`,
			want: []contract.Target{
				{FunctionName: "arn:aws:lambda:eu-west-1:111122223333:function:api"},
				{FunctionName: "arn:aws:lambda:eu-west-1:444455556666:function:api"},
			},
		},
		"same name through two roles": {
			raw:  `{"targets":[{"functionName":"api"},{"functionName":"api","roleArn":"arn:aws:iam::444455556666:role/deploy-target"}]}`,
			want: []contract.Target{{FunctionName: "api"}, {FunctionName: "api", RoleARN: "arn:aws:iam::444455556666:role/deploy-target"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTargets(tc.raw)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("ParseTargets() error = %v, want it to contain %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTargets() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRollbackFailedMetricLine pins the embedded-metric-format line the
// composition function's alarm relies on.
func TestRollbackFailedMetricLine(t *testing.T) {
	got, err := rollbackFailedMetric("orders-pipeline", "job-1", time.UnixMilli(1700000000123))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"PipelineName":"orders-pipeline","RollbackFailed":1,"_aws":{"CloudWatchMetrics":[{"Namespace":"CicdPipeline/Deployer","Dimensions":[["PipelineName"]],"Metrics":[{"Name":"RollbackFailed","Unit":"Count"}]}],"Timestamp":1700000000123},"deploymentId":"job-1"}` + "\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("metric line (-want +got):\n%s", diff)
	}
}

func TestSessionNamesThePipelineAndDeployment(t *testing.T) {
	got := sessionFor(&history.Record{PipelineName: "orders/pipeline", DeploymentID: "0b0e0f00-0000-4000-8000-000000000001"})
	want := awsapi.Session{Name: "deployer-orders-pipeline-0b0e0f00-0000-4000-8000-000000000001", SourceIdentity: "cicd-orders-pipeline"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sessionFor() (-want +got):\n%s", diff)
	}
	long := sessionFor(&history.Record{PipelineName: strings.Repeat("p", 100), DeploymentID: "x"})
	if len(long.Name) != 64 || len(long.SourceIdentity) != 64 {
		t.Errorf("session name %d and source identity %d characters long, want at most 64", len(long.Name), len(long.SourceIdentity))
	}
}

func TestOutcomeMessage(t *testing.T) {
	rec := &history.Record{
		DeploymentID: "job-1", Status: history.StatusFailed, ImageURI: "img@sha256:1",
		Error: "deploying to b: api error AccessDeniedException: no",
		Targets: []history.TargetRecord{
			{FunctionName: "a", Phase: history.PhaseRolledBack, PreviousImage: "img@sha256:0"},
			{FunctionName: "b", Phase: history.PhaseRollbackFailed, Error: "rollback failed: boom"},
			{FunctionName: "c", Phase: history.PhasePending},
		},
	}
	want := "Deployment job-1 of img@sha256:1 failed: deploying to b: api error AccessDeniedException: no. " +
		"Rolled back a to img@sha256:0. " +
		"ROLLBACK FAILED for b (rollback failed: boom): restore these functions by hand (their previous images are in the history table). " +
		"Not changed: c. " +
		"Check the deployer role's policy and, for a cross-account target, that its role trusts the deployer role."
	if diff := cmp.Diff(want, outcomeMessage(rec)); diff != "" {
		t.Errorf("outcomeMessage() (-want +got):\n%s", diff)
	}
}

// TestOutcomeMessages: what a developer reads for each outcome; a list is
// said only when it has entries.
func TestOutcomeMessages(t *testing.T) {
	cases := map[string]struct {
		rec  *history.Record
		want string
	}{
		"succeeded": {
			rec: &history.Record{DeploymentID: "job-1", Status: history.StatusSucceeded, Targets: []history.TargetRecord{
				{FunctionName: "api", NewImage: "img@sha256:1", NewVersion: "7", Alias: "live"},
				{FunctionName: "worker", NewImage: "img@sha256:1", NewVersion: "3"},
			}},
			want: "Deployment job-1 succeeded: api runs img@sha256:1 as version 7 (alias live), worker runs img@sha256:1 as version 3.",
		},
		"succeeded without its deployed tag": {
			rec: &history.Record{DeploymentID: "job-1", Status: history.StatusSucceeded, ImageTagError: "AccessDenied",
				Targets: []history.TargetRecord{{FunctionName: "api", NewImage: "img@sha256:1", NewVersion: "7"}}},
			want: "Deployment job-1 succeeded: api runs img@sha256:1 as version 7. Warning: the image did not get its deployed tag (AccessDenied); " +
				"the repository's lifecycle policy may expire it, and a rollback to it would then fail. Tag it by hand.",
		},
		"rollback in progress": {
			rec:  &history.Record{DeploymentID: "rollback-r", Kind: history.KindRollback, RestoredDeploymentID: "job-0", Status: history.StatusInProgress},
			want: "Rollback rollback-r (restoring deployment job-0) is in progress.",
		},
		"failed before changing anything": {
			rec: &history.Record{DeploymentID: "job-1", Status: history.StatusFailed, ImageURI: "img@sha256:1", Error: "something else",
				Targets: []history.TargetRecord{{FunctionName: "api", Phase: history.PhaseRejected}}},
			want: "Deployment job-1 of img@sha256:1 failed: something else. Not changed: api.",
		},
		"rolled back": {
			rec: &history.Record{DeploymentID: "job-1", Status: history.StatusRolledBack, ImageURI: "img@sha256:1", Error: "api error ResourceConflictException",
				Targets: []history.TargetRecord{{FunctionName: "api", Phase: history.PhaseRolledBack, PreviousImage: "img@sha256:0"}}},
			want: "Deployment job-1 of img@sha256:1 failed: api error ResourceConflictException. Rolled back api to img@sha256:0. " +
				"Another update of the function was in progress; retry the Deploy stage.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, outcomeMessage(tc.rec)); diff != "" {
				t.Errorf("outcomeMessage() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	cases := map[string]struct {
		s     string
		limit int
		want  string
	}{
		"shorter":              {s: "abc", limit: 8, want: "abc"},
		"exactly the limit":    {s: "abcdefgh", limit: 8, want: "abcdefgh"},
		"one over the limit":   {s: "abcdefghi", limit: 8, want: "abcde..."},
		"runes are kept whole": {s: strings.Repeat("é", 10), limit: 8, want: "éé..."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := truncate(tc.s, tc.limit); got != tc.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.limit, got, tc.want)
			}
		})
	}
}

// TestSessionSafeKeepsTheAllowedCharacters checks each end of each range of
// [\w+=,.@-] (role session names, AssumeRole API reference) and the
// characters just outside them.
func TestSessionSafeKeepsTheAllowedCharacters(t *testing.T) {
	const allowed = "azAZ09_+=,.@-"
	if got := sessionSafe(allowed); got != allowed {
		t.Errorf("sessionSafe(%q) = %q, want it unchanged", allowed, got)
	}
	const outside = "`{[/:?! é" // neighbours of a-z, A-Z ('@' is allowed), 0-9, and others
	if got, want := sessionSafe(outside), strings.Repeat("-", len(outside)); got != want {
		t.Errorf("sessionSafe(%q) = %q, want %q", outside, got, want)
	}
}

// failingJobResults fails every report, as an unreachable CodePipeline would.
type failingJobResults struct{ recordedJobResults }

func (f *failingJobResults) PutJobFailureResult(context.Context, *codepipeline.PutJobFailureResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	return nil, errors.New("connection refused")
}

func TestUnreportableResultFailsTheInvocationSoLambdaRetries(t *testing.T) {
	h := New(Config{Table: "unused"}, Deps{Table: unusedTable{}, JobResults: &failingJobResults{}}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	_, err := h.Handle(context.Background(), json.RawMessage(jobWith(t, "")))
	if err == nil || !strings.Contains(err.Error(), "reporting job job-9's failure to CodePipeline") {
		t.Fatalf("Handle() error = %v, want the reporting error", err)
	}
}

// alreadyFinishedJobResults answers like CodePipeline for a finished job.
type alreadyFinishedJobResults struct{ recordedJobResults }

func (a *alreadyFinishedJobResults) PutJobFailureResult(context.Context, *codepipeline.PutJobFailureResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	return nil, &cptypes.InvalidJobStateException{Message: aws.String("job is in state Failed")}
}

func TestReportingAFinishedJobAgainIsNotAnError(t *testing.T) {
	h := New(Config{Table: "unused"}, Deps{Table: unusedTable{}, JobResults: &alreadyFinishedJobResults{}}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	if _, err := h.Handle(context.Background(), json.RawMessage(jobWith(t, ""))); err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
}

// successResults records the PutJobSuccessResult calls whole.
type successResults struct {
	recordedJobResults
	success []*codepipeline.PutJobSuccessResultInput
}

func (s *successResults) PutJobSuccessResult(_ context.Context, in *codepipeline.PutJobSuccessResultInput, _ ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	s.success = append(s.success, in)
	return &codepipeline.PutJobSuccessResultOutput{}, nil
}

// TestHandOffSummaryCountsTheFinishedTargets: the summary CodePipeline shows
// for a continued job counts the targets deployed (or, rolling back, rolled
// back) so far, and the job's result carries the continuation token.
func TestHandOffSummaryCountsTheFinishedTargets(t *testing.T) {
	cases := map[string]struct {
		rollingBack bool
		phases      []history.Phase
		want        string
	}{
		"deploying": {
			phases: []history.Phase{history.PhaseDone, history.PhaseUpdating, history.PhasePending},
			want:   "Deploying img@sha256:1: 1 of 3 targets done; continuing in the next job",
		},
		"rolling back": {
			rollingBack: true,
			phases:      []history.Phase{history.PhaseRolledBack, history.PhaseRollbackFailed, history.PhaseRolledBack},
			want:        "Rolling back img@sha256:1: 2 of 3 targets done; continuing in the next job",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			jobs := &successResults{}
			h := New(Config{}, Deps{JobResults: jobs}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
			rec := &history.Record{DeploymentID: "job-1", JobID: "job-3", ImageURI: "img@sha256:1", RollingBack: tc.rollingBack, ContinuationToken: "token-1"}
			for i, phase := range tc.phases {
				rec.Targets = append(rec.Targets, history.TargetRecord{FunctionName: fmt.Sprint("f", i), Phase: phase})
			}
			result, err := h.reportHandOff(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs.success) != 1 {
				t.Fatalf("%d PutJobSuccessResult calls, want 1", len(jobs.success))
			}
			got := jobs.success[0]
			if aws.ToString(got.JobId) != "job-3" || aws.ToString(got.ContinuationToken) != "token-1" || aws.ToString(got.ExecutionDetails.ExternalExecutionId) != "job-1" {
				t.Errorf("PutJobSuccessResult job %s, token %s, external ID %s; want job-3, token-1, job-1",
					aws.ToString(got.JobId), aws.ToString(got.ContinuationToken), aws.ToString(got.ExecutionDetails.ExternalExecutionId))
			}
			if diff := cmp.Diff(tc.want, aws.ToString(got.ExecutionDetails.Summary)); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if result.ContinuationToken != "token-1" || result.Message != tc.want {
				t.Errorf("result = %+v", result)
			}
		})
	}
}

// failureResults records the PutJobFailureResult calls whole.
type failureResults struct {
	recordedJobResults
	failure []*codepipeline.PutJobFailureResultInput
}

func (f *failureResults) PutJobFailureResult(_ context.Context, in *codepipeline.PutJobFailureResultInput, _ ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	f.failure = append(f.failure, in)
	return &codepipeline.PutJobFailureResultOutput{}, nil
}

// TestFailureNamesTheDeploymentOnlyWhenThereIsOne: FailureDetails'
// externalExecutionId is 1-1500 characters (PutJobFailureResult API
// reference, FailureDetails), so a job rejected before any deployment
// leaves it out, and a failed deployment gives its ID.
func TestFailureNamesTheDeploymentOnlyWhenThereIsOne(t *testing.T) {
	jobs := &failureResults{}
	h := New(Config{}, Deps{JobResults: jobs}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	ctx := context.Background()
	if _, err := h.reject(ctx, "job-1", errors.New("bad parameters")); err != nil {
		t.Fatal(err)
	}
	if err := h.reportOutcome(ctx, "job-2", &history.Record{DeploymentID: "job-0", Status: history.StatusFailed}, "failed"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range jobs.failure {
		got = append(got, fmt.Sprintf("%s %s %v", aws.ToString(in.JobId), in.FailureDetails.Type, in.FailureDetails.ExternalExecutionId != nil && *in.FailureDetails.ExternalExecutionId == "job-0"))
	}
	if diff := cmp.Diff([]string{"job-1 ConfigurationError false", "job-2 JobFailed true"}, got); diff != "" {
		t.Errorf("failure results: job, type, names job-0 (-want +got):\n%s", diff)
	}
	if in := jobs.failure[0]; in.FailureDetails.ExternalExecutionId != nil {
		t.Errorf("rejected job's externalExecutionId = %q, want none", *in.FailureDetails.ExternalExecutionId)
	}
}
