package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

const (
	table      = "cicd-deployments"
	remoteRole = "arn:aws:iam::222222222222:role/cicd-deployer-target"
)

// world is the AWS side of a pipeline: moto, with images v1 and v2 in ECR
// and two functions on v1, "api" (alias live at version 1) and "worker".
type world struct {
	account  *testenv.Account
	pipeline *testenv.CodePipeline
	store    *history.Store
	v1, v2   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	testenv.RequireMoto(t)
	w := &world{pipeline: testenv.StartCodePipeline(t), account: testenv.DefaultAccount(t)}
	w.account.CreateHistoryTable(t, table)
	w.v1 = w.account.PushImage(t, "app", "v1")
	w.v2 = w.account.PushImage(t, "app", "v2")
	w.account.CreateImageFunction(t, "api", w.v1)
	w.account.CreateImageFunction(t, "worker", w.v1)
	ctx := context.Background()
	version, err := w.account.Lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.account.Lambda.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("api"), Name: aws.String("live"), FunctionVersion: version.Version,
	}); err != nil {
		t.Fatal(err)
	}
	w.store = history.NewStore(w.account.DynamoDB, table)
	return w
}

// handler builds the handler the way main does, from the environment the
// stand-ins set.
func (w *world) handler(t *testing.T, deadlineMargin time.Duration) *Handler {
	t.Helper()
	clients, err := awsapi.NewClients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Table: table, Environment: "test", DeadlineMargin: deadlineMargin, PollInterval: 10 * time.Millisecond}
	return New(cfg, Deps{
		Table: clients.Table(), JobResults: clients.JobResults(),
		LambdaFor: clients.LambdaFor, ArtifactsWith: clients.ArtifactsWith,
	}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
}

func (w *world) jobEvent(t *testing.T, jobID, imageURI, userParameters, token string) []byte {
	t.Helper()
	bucket, key := w.account.UploadArtifact(t, imageURI)
	return testenv.JobEvent(t, jobID, bucket, key, userParameters, token)
}

func (w *world) record(t *testing.T, deploymentID string) *history.Record {
	t.Helper()
	rec, err := w.store.LatestRecord(context.Background(), deploymentID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// invoke calls the handler in-process as Lambda would: with a deadline ten
// minutes away and a request ID.
func invoke(t *testing.T, h *Handler, payload []byte) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-" + t.Name()})
	return h.Handle(ctx, json.RawMessage(payload))
}

const twoTargets = `{"targets":[{"functionName":"api","alias":"live"},{"functionName":"worker"}],"pipelineExecutionId":"exec-1","commitId":"0a1b2c3d"}`

// ignoreVolatile drops what changes between runs from a record.
var ignoreVolatile = cmpopts.IgnoreFields(history.Record{}, "Timestamp", "StartedAt", "FinishedAt", "DurationMillis", "Revision")

func TestPipelineJobDeploysToTwoTargets(t *testing.T) {
	w := newWorld(t)
	result, err := invoke(t, w.handler(t, 0), w.jobEvent(t, "job-1", w.v2, twoTargets, ""))
	if err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	if result.Status != string(history.StatusSucceeded) {
		t.Fatalf("Handle() status = %s, message %q", result.Status, result.Message)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s, want %s", function, got, w.v2)
		}
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "2" {
		t.Errorf("alias live of api points at version %s, want 2", got)
	}
	want := &history.Record{
		DeploymentID: "job-1", Kind: history.KindPipeline, Status: history.StatusSucceeded, Environment: "test",
		JobID: "job-1", PipelineExecutionID: "exec-1", Commit: "0a1b2c3d",
		ImageURI: w.v2, ImageDigest: w.v2[strings.Index(w.v2, "@")+1:],
		Targets: []history.TargetRecord{
			{FunctionName: "api", Alias: "live", Phase: history.PhaseDone, PreviousImage: w.v1, PreviousVersion: "1", NewImage: w.v2, NewVersion: "2"},
			{FunctionName: "worker", Phase: history.PhaseDone, PreviousImage: w.v1, NewImage: w.v2, NewVersion: "1"},
		},
	}
	if diff := cmp.Diff(want, w.record(t, "job-1"), ignoreVolatile); diff != "" {
		t.Errorf("history record (-want +got):\n%s", diff)
	}
	calls := w.pipeline.Calls()
	if len(calls) != 1 || calls[0].Operation != "PutJobSuccessResult" || calls[0].JobID != "job-1" || calls[0].ContinuationToken != "" {
		t.Fatalf("job results = %+v, want one PutJobSuccessResult for job-1 without a continuation token", calls)
	}
	if !strings.Contains(calls[0].Summary, "api runs "+w.v2+" as version 2 (alias live)") {
		t.Errorf("success summary %q does not say what api runs", calls[0].Summary)
	}
}

func TestMissingImageRollsBackTheFirstTarget(t *testing.T) {
	w := newWorld(t)
	// The remote account has its own "app" repository, without the new
	// image: Lambda there refuses it, after "api" was already updated.
	remote := w.account.OtherAccount(t, remoteRole)
	remoteImage := remote.PushImage(t, "app", "remote-v1")
	remote.CreateImageFunction(t, "remote", remoteImage)

	params := `{"targets":[{"functionName":"api","alias":"live"},{"functionName":"remote","roleArn":"` + remoteRole + `"}]}`
	result, err := invoke(t, w.handler(t, 0), w.jobEvent(t, "job-2", w.v2, params, ""))
	if err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	if result.Status != string(history.StatusRolledBack) {
		t.Fatalf("Handle() status = %s, want ROLLED_BACK; message %q", result.Status, result.Message)
	}
	if got := w.account.CurrentImage(t, "api"); got != w.v1 {
		t.Errorf("api runs %s after the rollback, want %s", got, w.v1)
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "1" {
		t.Errorf("alias live of api points at version %s after the rollback, want 1", got)
	}
	if got := remote.CurrentImage(t, "remote"); got != remoteImage {
		t.Errorf("remote runs %s, want it unchanged at %s", got, remoteImage)
	}
	rec := w.record(t, "job-2")
	phases := []history.Phase{rec.Targets[0].Phase, rec.Targets[1].Phase}
	if diff := cmp.Diff([]history.Phase{history.PhaseRolledBack, history.PhaseRejected}, phases); diff != "" {
		t.Errorf("target phases (-want +got):\n%s", diff)
	}
	if rec.Status != history.StatusRolledBack || !strings.Contains(rec.Error, "ImageNotFound") {
		t.Errorf("record status %s, error %q; want ROLLED_BACK with the ImageNotFound cause", rec.Status, rec.Error)
	}
	calls := w.pipeline.Calls()
	if len(calls) != 1 || calls[0].Operation != "PutJobFailureResult" || calls[0].FailureType != "JobFailed" {
		t.Fatalf("job results = %+v, want one PutJobFailureResult of type JobFailed", calls)
	}
	for _, want := range []string{"deploying to remote", "Rolled back api to " + w.v1, "Not changed: remote", "image exists in the ECR repository of the target's account"} {
		if !strings.Contains(calls[0].FailureMessage, want) {
			t.Errorf("failure message %q does not contain %q", calls[0].FailureMessage, want)
		}
	}
}

func TestRetriedJobIDDeploysOnce(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, 0)
	first := w.jobEvent(t, "job-3", w.v2, twoTargets, "")
	if result, err := invoke(t, h, first); err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("first delivery: result %+v, error %v", result, err)
	}
	// A later build replaced the artifact's image; a repeated delivery of the
	// same job must not deploy it.
	v3 := w.account.PushImage(t, "app", "v3")
	w.account.UploadArtifact(t, v3)
	result, err := invoke(t, h, first)
	if err != nil {
		t.Fatalf("repeated delivery: error %v", err)
	}
	if result.Status != string(history.StatusSucceeded) {
		t.Errorf("repeated delivery reported %s, want the recorded SUCCEEDED", result.Status)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s after the repeated delivery, want %s", function, got, w.v2)
		}
	}
	versions, err := w.account.Lambda.ListVersionsByFunction(context.Background(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(versions.Versions); got != 3 { // $LATEST, 1, 2
		t.Errorf("api has %d versions after the repeated delivery, want 3 ($LATEST, 1, 2)", got)
	}
	calls := w.pipeline.Calls()
	operations := make([]string, 0, len(calls))
	for _, call := range calls {
		operations = append(operations, call.Operation+" "+call.JobID)
	}
	if diff := cmp.Diff([]string{"PutJobSuccessResult job-3", "PutJobSuccessResult job-3"}, operations); diff != "" {
		t.Errorf("job results (-want +got):\n%s", diff)
	}
}

func TestContinuation(t *testing.T) {
	w := newWorld(t)
	event := w.jobEvent(t, "job-4", w.v2, twoTargets, "")

	// A margin longer than the invocation's ten minutes makes the deployer
	// hand over after its first step.
	first, err := invoke(t, w.handler(t, time.Hour), event)
	if err != nil {
		t.Fatalf("first invocation: %v", err)
	}
	if first.Status != string(history.StatusInProgress) || first.ContinuationToken == "" {
		t.Fatalf("first invocation: status %s, token %q; want IN_PROGRESS with a token", first.Status, first.ContinuationToken)
	}
	rec := w.record(t, "job-4")
	if !rec.AwaitingContinuation || rec.Status != history.StatusInProgress {
		t.Errorf("record after hand-over: status %s, awaiting continuation %t", rec.Status, rec.AwaitingContinuation)
	}

	// A repeated delivery of the original event while CodePipeline holds the
	// token changes nothing and reports nothing.
	if duplicate, err := invoke(t, w.handler(t, 0), event); err != nil || duplicate.Status != string(history.StatusInProgress) {
		t.Fatalf("repeated delivery: result %+v, error %v", duplicate, err)
	}

	second, err := invoke(t, w.handler(t, 0), w.jobEvent(t, "job-4", w.v2, twoTargets, first.ContinuationToken))
	if err != nil {
		t.Fatalf("continuation: %v", err)
	}
	if second.Status != string(history.StatusSucceeded) {
		t.Fatalf("continuation: status %s, message %q", second.Status, second.Message)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s, want %s", function, got, w.v2)
		}
	}
	calls := w.pipeline.Calls()
	got := make([]string, 0, len(calls))
	for _, call := range calls {
		got = append(got, call.Operation+" token="+call.ContinuationToken)
	}
	want := []string{"PutJobSuccessResult token=" + first.ContinuationToken, "PutJobSuccessResult token="}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job results (-want +got):\n%s", diff)
	}
}

func TestRepeatedDeliveryAfterAnInterruptedInvocationRollsBack(t *testing.T) {
	w := newWorld(t)
	event := w.jobEvent(t, "job-5", w.v2, twoTargets, "")
	if _, err := invoke(t, w.handler(t, time.Hour), event); err != nil {
		t.Fatal(err)
	}
	// Make it look as if an invocation had resumed the deployment, updated
	// api and died: it holds no token and its lease has expired.
	rec := w.record(t, "job-5")
	if _, err := w.account.Lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(w.v2)}); err != nil {
		t.Fatal(err)
	}
	rec.Targets[0].Phase = history.PhaseUpdating
	rec.AwaitingContinuation = false
	rec.LeaseExpiresAt = time.Now().Add(-time.Minute).UnixMilli()
	if err := w.store.Save(context.Background(), rec); err != nil {
		t.Fatal(err)
	}

	result, err := invoke(t, w.handler(t, 0), event)
	if err != nil {
		t.Fatal(err)
	}
	if result.Status != string(history.StatusRolledBack) {
		t.Fatalf("status %s, want ROLLED_BACK; message %q", result.Status, result.Message)
	}
	if got := w.account.CurrentImage(t, "api"); got != w.v1 {
		t.Errorf("api runs %s, want it restored to %s", got, w.v1)
	}
	calls := w.pipeline.Calls()
	last := calls[len(calls)-1]
	if last.Operation != "PutJobFailureResult" || !strings.Contains(last.FailureMessage, "stopped before finishing") {
		t.Errorf("last job result = %+v, want a failure that says the earlier invocation stopped", last)
	}
}

func TestRollbackRequestRestoresTheLastSucceededDeployment(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, 0)
	if result, err := invoke(t, h, w.jobEvent(t, "job-6", w.v2, twoTargets, "")); err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("deployment: result %+v, error %v", result, err)
	}
	// Someone put a bad image on both functions by hand.
	bad := w.account.PushImage(t, "app", "hotfix")
	for _, function := range []string{"api", "worker"} {
		if _, err := w.account.Lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(function), ImageUri: aws.String(bad)}); err != nil {
			t.Fatal(err)
		}
	}

	request := []byte(`{"action":"rollback","requestId":"undo-hotfix","reason":"hotfix broke checkout"}`)
	result, err := invoke(t, h, request)
	if err != nil {
		t.Fatalf("rollback request: %v", err)
	}
	if result.Status != string(history.StatusSucceeded) {
		t.Fatalf("rollback request: status %s, message %q", result.Status, result.Message)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s after the rollback request, want %s", function, got, w.v2)
		}
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "3" {
		t.Errorf("alias live of api points at version %s, want 3 (the restored image)", got)
	}
	rec := w.record(t, "rollback-undo-hotfix")
	if rec.Kind != history.KindRollback || rec.RestoredDeploymentID != "job-6" || rec.Reason != "hotfix broke checkout" {
		t.Errorf("rollback record: kind %s, restored %s, reason %q", rec.Kind, rec.RestoredDeploymentID, rec.Reason)
	}
	if rec.Targets[0].PreviousImage != bad {
		t.Errorf("rollback record: api's previous image %s, want %s", rec.Targets[0].PreviousImage, bad)
	}

	// The same request again reports the recorded outcome without deploying.
	again, err := invoke(t, h, request)
	if err != nil || again.DeploymentID != "rollback-undo-hotfix" || again.Status != string(history.StatusSucceeded) {
		t.Errorf("repeated rollback request: result %+v, error %v", again, err)
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "3" {
		t.Errorf("alias live of api points at version %s after the repeated request, want 3", got)
	}
	if calls := w.pipeline.Calls(); len(calls) != 1 {
		t.Errorf("a rollback request reported %d job results; it is not a pipeline job", len(calls)-1)
	}
}

func TestRollbackRequestWithoutHistoryFails(t *testing.T) {
	w := newWorld(t)
	_, err := invoke(t, w.handler(t, 0), []byte(`{"action":"rollback"}`))
	if err == nil || !strings.Contains(err.Error(), "has no SUCCEEDED deployment to restore") {
		t.Fatalf("Handle() error = %v, want one that says there is nothing to restore", err)
	}
	if got := w.account.CurrentImage(t, "api"); got != w.v1 {
		t.Errorf("api runs %s, want it untouched", got)
	}
}

func TestArtifactWithoutImageDetailFailsTheJob(t *testing.T) {
	w := newWorld(t)
	bucket, key := w.account.UploadArtifact(t, w.v2)
	event := testenv.JobEvent(t, "job-7", bucket, key+"-missing", twoTargets, "")
	result, err := invoke(t, w.handler(t, 0), event)
	if err != nil {
		t.Fatal(err)
	}
	if result.Status != StatusRejected {
		t.Errorf("status %s, want %s", result.Status, StatusRejected)
	}
	calls := w.pipeline.Calls()
	if len(calls) != 1 || calls[0].Operation != "PutJobFailureResult" || !strings.Contains(calls[0].FailureMessage, "downloading the input artifact s3://"+bucket) {
		t.Errorf("job results = %+v, want a failure naming the artifact", calls)
	}
}
