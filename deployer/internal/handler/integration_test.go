package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

const (
	table        = "cicd-deployments"
	pipelineName = "orders-pipeline"
	remoteRole   = "arn:aws:iam::222222222222:role/cicd-deployer-target"
)

// world is the AWS side of a pipeline: moto behind stand-ins as strict as
// AWS (CodePipeline, Lambda, S3, ECR), with images v1 and v2 in ECR and two functions on v1, "api" (alias
// live at version 1) and "worker", which the targets item lists.
type world struct {
	account   *testenv.Account
	pipeline  *testenv.CodePipeline
	artifacts *testenv.ArtifactStore
	lambda    *testenv.SlowLambda
	store     *history.Store
	metrics   *syncBuffer
	v1, v2    string
}

func newWorld(t *testing.T, polls int) *world {
	t.Helper()
	testenv.RequireMoto(t)
	// The fixtures' clients talk to moto directly; the deployer's, built
	// after the stand-ins start, through them.
	w := &world{account: testenv.DefaultAccount(t), metrics: &syncBuffer{}}
	w.pipeline = testenv.StartCodePipeline(t)
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
	w.account.WriteTargets(t, table, contract.Target{FunctionName: "api", Alias: "live"}, contract.Target{FunctionName: "worker"})
	w.artifacts = testenv.StartArtifactStore(t, func(key string) bool { return strings.HasPrefix(key, "ASIAARTIFACT") })
	w.lambda = testenv.StartSlowLambda(t, polls)
	testenv.StartStrictECR(t)
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
	cfg := Config{Table: table, PipelineName: pipelineName, Environment: "test", DeadlineMargin: deadlineMargin, PollInterval: 10 * time.Millisecond}
	return New(cfg, Deps{
		Table: clients.Table(), JobResults: clients.JobResults(), Pipeline: clients.Pipeline(), Images: clients.Images(),
		LambdaFor: clients.LambdaFor, ArtifactsWith: clients.ArtifactsWith, Metrics: w.metrics,
	}, slog.New(slog.NewJSONHandler(t.Output(), nil)))
}

func (w *world) newJob(t *testing.T, imageURI string) *testenv.Job {
	t.Helper()
	bucket, key := w.account.UploadArtifact(t, imageURI)
	return w.pipeline.NewJob(pipelineName, bucket, key)
}

func (w *world) record(t *testing.T, deploymentID string) *history.Record {
	t.Helper()
	rec, err := w.store.LatestRecord(context.Background(), deploymentID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// invokeWithin calls the handler in-process as Lambda would: with a deadline
// timeout away and a request ID.
func invokeWithin(t *testing.T, h *Handler, payload []byte, timeout time.Duration) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-" + t.Name()})
	return h.Handle(ctx, json.RawMessage(payload))
}

// handOffAtOnce is a deadline margin that makes an invocation of invoke hand
// off before its first deployment step (less time is left than the margin),
// while the calls before the deployment runs still have their step context
// (the 10 minutes less half the margin).
const handOffAtOnce = 15 * time.Minute

func invoke(t *testing.T, h *Handler, payload []byte) (*Result, error) {
	t.Helper()
	return invokeWithin(t, h, payload, 10*time.Minute)
}

// drive runs job and every continuation job CodePipeline schedules after it,
// each invocation with timeout, and returns the last result and the IDs of
// the jobs it ran.
func (w *world) drive(t *testing.T, h *Handler, job *testenv.Job, timeout time.Duration) (*Result, []string) {
	t.Helper()
	var jobs []string
	var result *Result
	for range 200 {
		jobs = append(jobs, job.ID)
		var err error
		result, err = invokeWithin(t, h, job.Event(t), timeout)
		if err != nil {
			t.Fatalf("job %s: %v", job.ID, err)
		}
		next, ok := w.pipeline.NextJob()
		if !ok {
			return result, jobs
		}
		job = next
	}
	t.Fatal("the deployment never finished")
	return nil, nil
}

// resultsByJob lists the job results as "<operation> <job>".
func (w *world) resultsByJob() []string {
	var got []string
	for _, call := range w.pipeline.Calls() {
		got = append(got, call.Operation+" "+call.JobID)
	}
	return got
}

var ignoreVolatile = cmpopts.IgnoreFields(history.Record{}, "Timestamp", "StartedAt", "FinishedAt", "DurationMillis", "Revision")

func TestPipelineJobDeploysToTwoTargets(t *testing.T) {
	w := newWorld(t, 2)
	job := w.newJob(t, w.v2)
	job.Revision = "artifact-revision" // the commitId parameter wins
	started := time.Now()
	result, err := invoke(t, w.handler(t, time.Second), job.Event(t))
	took := time.Since(started)
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
	digest := w.v2[strings.Index(w.v2, "@")+1:]
	sha := strings.TrimPrefix(digest, "sha256:")
	want := &history.Record{
		DeploymentID: job.ID, Kind: history.KindPipeline, Status: history.StatusSucceeded, Environment: "test",
		JobID: job.ID, JobIDs: []string{job.ID}, PipelineName: pipelineName, PipelineExecutionID: job.ExecutionID, Commit: "0a1b2c3d",
		ImageURI: w.v2, ImageDigest: digest, ImageTagged: true,
		Targets: []history.TargetRecord{
			{FunctionName: "api", Alias: "live", Phase: history.PhaseDone, PreviousImage: w.v1, PreviousVersion: "1", NewImage: w.v2, NewCodeSha256: sha, NewVersion: "2"},
			{FunctionName: "worker", Phase: history.PhaseDone, PreviousImage: w.v1, NewImage: w.v2, NewCodeSha256: sha, NewVersion: "1"},
		},
	}
	got := w.record(t, job.ID)
	if diff := cmp.Diff(want, got, ignoreVolatile); diff != "" {
		t.Errorf("history record (-want +got):\n%s", diff)
	}
	if got.DurationMillis < 0 || got.DurationMillis > took.Milliseconds() {
		t.Errorf("recorded duration %d ms, want between 0 and the %d ms the invocation took", got.DurationMillis, took.Milliseconds())
	}
	calls := w.pipeline.Calls()
	if len(calls) != 1 || calls[0].Operation != "PutJobSuccessResult" || calls[0].JobID != job.ID || calls[0].ContinuationToken != "" {
		t.Fatalf("job results = %+v, want one PutJobSuccessResult without a continuation token", calls)
	}
	if !strings.Contains(calls[0].Summary, "api runs "+w.v2+" as version 2 (alias live)") {
		t.Errorf("success summary %q does not say what api runs", calls[0].Summary)
	}
	if diff := cmp.Diff([]string{job.AccessKeyID}, w.artifacts.Readers()); diff != "" {
		t.Errorf("the artifact was not read once with the job's artifact credentials (-want +got access keys):\n%s", diff)
	}
	tags := w.account.ImageTags(t, "app", digest)
	deployed := false
	for _, tag := range tags {
		deployed = deployed || strings.HasPrefix(tag, contract.DeployedTagPrefix+"test-")
	}
	if !deployed {
		t.Errorf("image v2 has tags %v, want one starting with %stest-", tags, contract.DeployedTagPrefix)
	}
}

// TestCommitFallsBackToTheArtifactRevision: without a commitId parameter
// the deployment records the input artifact's revision ("Artifact",
// CodePipeline API reference, revision: "a commit ID (GitHub) or a
// revision ID (Amazon S3)").
func TestCommitFallsBackToTheArtifactRevision(t *testing.T) {
	w := newWorld(t, 0)
	job := w.newJob(t, w.v2)
	job.UserParameters = `{"pipelineExecutionId":"` + job.ExecutionID + `"}`
	job.Revision = "artifact-revision"
	result, err := invoke(t, w.handler(t, time.Second), job.Event(t))
	if err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("Handle() = %+v, %v; want SUCCEEDED", result, err)
	}
	if got := w.record(t, job.ID).Commit; got != "artifact-revision" {
		t.Errorf("recorded commit %q, want the artifact's revision", got)
	}
}

// TestContinuationsRunAsNewJobs: CodePipeline continues an action with a new
// job, with a new ID, per continuation; each job gets exactly one result.
func TestContinuationsRunAsNewJobs(t *testing.T) {
	w := newWorld(t, 30)
	job := w.newJob(t, w.v2)
	// 1 s invocations with an 800 ms margin and 10 ms polls: every update
	// (30 polls) outlasts the 200 ms of steps of one, and 400 ms are left
	// to record and report the hand-off.
	result, jobs := w.drive(t, w.handler(t, 800*time.Millisecond), job, time.Second)
	if result.Status != string(history.StatusSucceeded) {
		t.Fatalf("status %s, message %q", result.Status, result.Message)
	}
	if len(jobs) < 3 {
		t.Fatalf("the deployment ran in %d jobs, want at least 3 (two continuations)", len(jobs))
	}
	var want []string
	for _, id := range jobs {
		want = append(want, "PutJobSuccessResult "+id)
	}
	if diff := cmp.Diff(want, w.resultsByJob()); diff != "" {
		t.Errorf("job results (-want +got):\n%s", diff)
	}
	rec := w.record(t, job.ID)
	if diff := cmp.Diff(jobs, rec.JobIDs); diff != "" {
		t.Errorf("recorded job chain (-want +got):\n%s", diff)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s, want %s", function, got, w.v2)
		}
	}
}

// TestStillUpdatingNearTheDeadlineHandsOff: a target still updating one
// poll interval before the hand-off point must hand off, not fail.
func TestStillUpdatingNearTheDeadlineHandsOff(t *testing.T) {
	w := newWorld(t, 1000)
	h := w.handler(t, 200*time.Millisecond)
	h.cfg.PollInterval = 100 * time.Millisecond
	job := w.newJob(t, w.v2)
	result, err := invokeWithin(t, h, job.Event(t), 700*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if result.Status != string(history.StatusInProgress) || result.ContinuationToken == "" {
		t.Fatalf("status %s, token %q, message %q; want a hand-off", result.Status, result.ContinuationToken, result.Message)
	}
	if rec := w.record(t, job.ID); rec.RollingBack || rec.Targets[0].Phase != history.PhaseUpdating {
		t.Errorf("record: rolling back %t, api phase %s; want api still UPDATING", rec.RollingBack, rec.Targets[0].Phase)
	}
}

// TestInterruptedHandOffSendsTheTokenAgain: the hand-off was saved but its
// report failed; the retried delivery must report the token, not hang.
func TestInterruptedHandOffSendsTheTokenAgain(t *testing.T) {
	w := newWorld(t, 3)
	h := w.handler(t, handOffAtOnce) // hand off after the first step
	job := w.newJob(t, w.v2)
	w.pipeline.FailNextResults(2) // the SDK tries twice (AWS_MAX_ATTEMPTS)
	if _, err := invoke(t, h, job.Event(t)); err == nil || !strings.Contains(err.Error(), "reporting job") {
		t.Fatalf("first delivery: error %v, want the reporting error so that Lambda retries", err)
	}
	if _, err := invoke(t, h, job.Event(t)); err != nil {
		t.Fatalf("retried delivery: %v", err)
	}
	calls := w.pipeline.Calls()
	if len(calls) != 3 || calls[2].ContinuationToken == "" || calls[2].ContinuationToken != calls[0].ContinuationToken || calls[2].JobID != job.ID {
		t.Fatalf("job results = %+v, want the saved token reported again on the job", calls)
	}
	result, _ := w.drive(t, w.handler(t, 0), mustNext(t, w), time.Minute)
	if result.Status != string(history.StatusSucceeded) {
		t.Fatalf("continuation: status %s, message %q", result.Status, result.Message)
	}
}

func mustNext(t *testing.T, w *world) *testenv.Job {
	t.Helper()
	job, ok := w.pipeline.NextJob()
	if !ok {
		t.Fatal("CodePipeline scheduled no continuation job")
	}
	return job
}

// TestFailedTargetRollsBackAcrossContinuations: the rollback is resumable
// like the deployment, and restores every alias and image.
func TestFailedTargetRollsBackAcrossContinuations(t *testing.T) {
	w := newWorld(t, 30)
	w.account.WriteTargets(t, table, contract.Target{FunctionName: "api", Alias: "live"}, contract.Target{FunctionName: "worker"},
		contract.Target{FunctionName: "missing"})
	job := w.newJob(t, w.v2)
	// 1 s invocations with an 800 ms margin: 200 ms of steps each, and a
	// 400 ms reserve to record and report the hand-off.
	result, jobs := w.drive(t, w.handler(t, 800*time.Millisecond), job, time.Second)
	if result.Status != string(history.StatusRolledBack) {
		t.Fatalf("status %s, want ROLLED_BACK; message %q", result.Status, result.Message)
	}
	rec := w.record(t, job.ID)
	if len(jobs) < 3 {
		t.Errorf("the deployment and its rollback ran in %d jobs, want continuations", len(jobs))
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v1 {
			t.Errorf("%s runs %s after the rollback, want %s", function, got, w.v1)
		}
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "1" {
		t.Errorf("alias live points at %s, want 1", got)
	}
	phases := []history.Phase{rec.Targets[0].Phase, rec.Targets[1].Phase, rec.Targets[2].Phase}
	if diff := cmp.Diff([]history.Phase{history.PhaseRolledBack, history.PhaseRolledBack, history.PhasePending}, phases); diff != "" {
		t.Errorf("target phases (-want +got):\n%s", diff)
	}
	calls := w.pipeline.Calls()
	last := calls[len(calls)-1]
	if last.Operation != "PutJobFailureResult" || last.JobID != jobs[len(jobs)-1] || !strings.Contains(last.FailureMessage, "deploying to missing") {
		t.Errorf("last job result = %+v, want the failure on the last job", last)
	}
	if w.metrics.String() != "" {
		t.Errorf("a successful rollback emitted %q", w.metrics.String())
	}
}

// TestRollbackFailedEmitsTheMetric: a target that cannot be restored ends
// the deployment FAILED with the rollback-failed metric in the log.
func TestRollbackFailedEmitsTheMetric(t *testing.T) {
	w := newWorld(t, 1)
	w.account.WriteTargets(t, table, contract.Target{FunctionName: "api", Alias: "live"}, contract.Target{FunctionName: "missing"})
	// The image api runs now disappears, so it cannot be restored.
	if _, err := w.account.ECR.BatchDeleteImage(context.Background(), &ecr.BatchDeleteImageInput{
		RepositoryName: aws.String("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(w.v1[strings.Index(w.v1, "@")+1:])}},
	}); err != nil {
		t.Fatal(err)
	}
	job := w.newJob(t, w.v2)
	result, _ := w.drive(t, w.handler(t, 0), job, time.Minute)
	if result.Status != string(history.StatusFailed) || !strings.Contains(result.Message, "ROLLBACK FAILED for api") {
		t.Fatalf("status %s, message %q; want FAILED with api's rollback failed", result.Status, result.Message)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(w.metrics.String()), &line); err != nil {
		t.Fatalf("metrics output %q is not one JSON line: %v", w.metrics.String(), err)
	}
	if line[contract.MetricPipelineDimension] != pipelineName || line[contract.RollbackFailedMetric] != float64(1) || line["deploymentId"] != job.ID {
		t.Errorf("metric line %v does not count one rollback failure of %s", line, pipelineName)
	}
}

// TestForgedJobsAreRefused: a job CodePipeline does not confirm changes
// nothing and reads nothing.
func TestForgedJobsAreRefused(t *testing.T) {
	w := newWorld(t, 0)
	issued := w.newJob(t, w.v2)
	cases := map[string]func(job *testenv.Job){
		"another artifact": func(job *testenv.Job) { job.Key = "pipeline/BuildOutput/forged" },
		"another execution": func(job *testenv.Job) {
			job.UserParameters = `{"pipelineExecutionId":"00000000-0000-0000-0000-000000000000"}`
		},
		"no execution ID": func(job *testenv.Job) { job.UserParameters = `{"commitId":"abc"}` },
		"unknown parameter": func(job *testenv.Job) {
			job.UserParameters = strings.Replace(job.UserParameters, "commitId", "commit", 1)
		},
	}
	for name, forge := range cases {
		t.Run(name, func(t *testing.T) {
			// Not issued by CodePipeline: a copy of the real job, altered.
			forged := *issued
			forged.ID = "0b0e0f00-0000-4000-8000-" + fmt.Sprintf("%012x", crc32.ChecksumIEEE([]byte(name)))
			forge(&forged)
			result, err := invoke(t, w.handler(t, 0), forged.Event(t))
			if err != nil || result.Status != StatusRejected {
				t.Fatalf("result %+v, error %v; want the job rejected", result, err)
			}
			if got := w.account.CurrentImage(t, "api"); got != w.v1 {
				t.Errorf("api runs %s, want it untouched", got)
			}
			if readers := w.artifacts.Readers(); len(readers) != 0 {
				t.Errorf("the artifact bucket was read by %v", readers)
			}
		})
	}
}

// TestRedeliveryDuringALiveLeaseIsIgnored: another invocation is working
// on the deployment; a repeated delivery must neither deploy nor roll back.
func TestRedeliveryDuringALiveLeaseIsIgnored(t *testing.T) {
	w := newWorld(t, 0)
	job := w.newJob(t, w.v2)
	if _, err := invoke(t, w.handler(t, handOffAtOnce), job.Event(t)); err != nil {
		t.Fatal(err)
	}
	mustNext(t, w)
	rec := w.record(t, job.ID)
	rec.AwaitingContinuation = false
	rec.LeaseExpiresAt = time.Now().Add(time.Hour).UnixMilli()
	rec.Targets[0].Phase = history.PhaseUpdating
	if err := w.store.Save(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	result, err := invoke(t, w.handler(t, 0), job.Event(t))
	if err != nil || result.Status != string(history.StatusInProgress) {
		t.Fatalf("result %+v, error %v; want it ignored", result, err)
	}
	if got := w.record(t, job.ID); got.RollingBack || got.Targets[0].Phase != history.PhaseUpdating {
		t.Errorf("record: rolling back %t, api %s; want it untouched", got.RollingBack, got.Targets[0].Phase)
	}
	if got := len(w.pipeline.Calls()); got != 1 {
		t.Errorf("%d job results, want only the hand-off's", got)
	}
}

func TestRedeliveryAfterAnExpiredLeaseRollsBack(t *testing.T) {
	w := newWorld(t, 0)
	job := w.newJob(t, w.v2)
	if _, err := invoke(t, w.handler(t, handOffAtOnce), job.Event(t)); err != nil {
		t.Fatal(err)
	}
	next := mustNext(t, w)
	// The continuation's invocation updated api and died.
	rec := w.record(t, job.ID)
	if _, err := w.account.Lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(w.v2)}); err != nil {
		t.Fatal(err)
	}
	rec.JobID, rec.JobIDs = next.ID, append(rec.JobIDs, next.ID)
	rec.Targets[0].Phase = history.PhaseUpdating
	rec.Targets[0].PreviousImage, rec.Targets[0].PreviousVersion = w.v1, "1"
	rec.AwaitingContinuation, rec.ContinuationToken = false, ""
	rec.LeaseExpiresAt = time.Now().Add(-time.Minute).UnixMilli()
	if err := w.store.Save(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	result, err := invoke(t, w.handler(t, 0), next.Event(t))
	if err != nil || result.Status != string(history.StatusRolledBack) {
		t.Fatalf("result %+v, error %v; want ROLLED_BACK", result, err)
	}
	if got := w.account.CurrentImage(t, "api"); got != w.v1 {
		t.Errorf("api runs %s, want it restored to %s", got, w.v1)
	}
	calls := w.pipeline.Calls()
	if last := calls[len(calls)-1]; last.JobID != next.ID || !strings.Contains(last.FailureMessage, "stopped before finishing") {
		t.Errorf("last job result = %+v, want a failure on the continuation job", last)
	}
}

// TestContinuationTokenMustBeTheIssuedOne: a token naming the deployment
// but not issued for its last hand-off is refused and changes nothing.
func TestContinuationTokenMustBeTheIssuedOne(t *testing.T) {
	w := newWorld(t, 0)
	job := w.newJob(t, w.v2)
	if _, err := invoke(t, w.handler(t, handOffAtOnce), job.Event(t)); err != nil {
		t.Fatal(err)
	}
	issued := mustNext(t, w)
	rec := w.record(t, job.ID)
	forged := w.pipeline.NewJob(pipelineName, job.Bucket, job.Key)
	forged.UserParameters = job.UserParameters
	forgedToken, err := json.Marshal(continuation{DeploymentID: rec.DeploymentID, Timestamp: rec.Timestamp, Nonce: "guessed"})
	if err != nil {
		t.Fatal(err)
	}
	forged.ContinuationToken = string(forgedToken)
	result, err := invoke(t, w.handler(t, 0), forged.Event(t))
	if err != nil || result.Status != StatusRejected || !strings.Contains(result.Message, "not the one it handed to CodePipeline") {
		t.Fatalf("forged token: result %+v, error %v; want it rejected", result, err)
	}
	if got := w.record(t, job.ID); got.JobID != job.ID || got.ContinuationToken == "" {
		t.Errorf("the forged continuation changed the record: job %s, token %q", got.JobID, got.ContinuationToken)
	}
	if result, _ := w.drive(t, w.handler(t, 0), issued, time.Minute); result.Status != string(history.StatusSucceeded) {
		t.Errorf("the issued continuation: status %s, message %q", result.Status, result.Message)
	}
}

// racingTable lets another invocation write the record just before this
// one's save of a target's progress.
type racingTable struct {
	awsapi.Table
	store *history.Store
	once  sync.Once
	err   error
}

func (r *racingTable) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	var saved history.Record
	if attributevalue.UnmarshalMap(in.Item, &saved) == nil && len(saved.Targets) > 0 && saved.Targets[0].Phase == history.PhaseUpdating {
		r.once.Do(func() {
			rec, err := r.store.LatestRecord(ctx, saved.DeploymentID)
			if err == nil {
				err = r.store.Save(ctx, rec)
			}
			r.err = err
		})
	}
	return r.Table.PutItem(ctx, in, opts...)
}

// TestLostOptimisticLockStops: when another invocation wrote the record,
// this one stops without rolling back or reporting.
func TestLostOptimisticLockStops(t *testing.T) {
	w := newWorld(t, 0)
	h := w.handler(t, 0)
	racing := &racingTable{Table: w.account.DynamoDB, store: w.store}
	h.deps.Table = racing
	h.store = history.NewStore(racing, table)
	job := w.newJob(t, w.v2)
	result, err := invoke(t, h, job.Event(t))
	if err != nil || result.Message != "another invocation took over the deployment" {
		t.Fatalf("result %+v, error %v (racing write: %v); want it to stop", result, err, racing.err)
	}
	if rec := w.record(t, job.ID); rec.RollingBack || rec.Status != history.StatusInProgress {
		t.Errorf("record: rolling back %t, status %s; want it left to the other invocation", rec.RollingBack, rec.Status)
	}
	if calls := w.pipeline.Calls(); len(calls) != 0 {
		t.Errorf("job results %+v, want none", calls)
	}
	// api was updated before the other invocation took over; this one must
	// not touch it again (no rollback of the other's deployment).
	if got := w.account.CurrentImage(t, "api"); got != w.v2 {
		t.Errorf("api runs %s, want %s: the invocation that lost the record changed it", got, w.v2)
	}
}

func TestConcurrentChangeIsNotPublished(t *testing.T) {
	w := newWorld(t, 3)
	hotfix := w.account.PushImage(t, "app", "hotfix")
	w.account.WriteTargets(t, table, contract.Target{FunctionName: "api", Alias: "live"})
	w.lambda.OnPoll = func(function string, left int) {
		if function == "api" && left == 0 {
			// Someone updates api while the deployer waits for its update.
			_, _ = w.account.Lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(hotfix)})
		}
	}
	job := w.newJob(t, w.v2)
	result, _ := w.drive(t, w.handler(t, 0), job, time.Minute)
	if result.Status != string(history.StatusRolledBack) || !strings.Contains(result.Message, "PreconditionFailed") {
		t.Fatalf("status %s, message %q; want the publish refused and the target rolled back", result.Status, result.Message)
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "1" {
		t.Errorf("alias live points at %s, want 1: someone else's code was published", got)
	}
}

func TestSecondDeploymentWaitsForTheTargetsLease(t *testing.T) {
	w := newWorld(t, 0)
	first := w.newJob(t, w.v2)
	if _, err := invoke(t, w.handler(t, handOffAtOnce), first.Event(t)); err != nil {
		t.Fatal(err)
	}
	second := w.newJob(t, w.v2)
	result, err := invoke(t, w.handler(t, 0), second.Event(t))
	if err != nil || result.Status != string(history.StatusFailed) || !strings.Contains(result.Message, "another deployment is changing the function") {
		t.Fatalf("second deployment: result %+v, error %v; want it refused", result, err)
	}
	if rec := w.record(t, second.ID); rec.Targets[0].Phase != history.PhasePending {
		t.Errorf("the second deployment touched api: phase %s", rec.Targets[0].Phase)
	}
}

func TestRollbackRequestRestoresTheDeploymentBeforeTheLiveOne(t *testing.T) {
	w := newWorld(t, 0)
	v3 := w.account.PushImage(t, "app", "v3")
	for _, image := range []string{w.v2, v3} {
		if result, _ := w.drive(t, w.handler(t, 0), w.newJob(t, image), time.Minute); result.Status != string(history.StatusSucceeded) {
			t.Fatalf("deploying %s: %s %q", image, result.Status, result.Message)
		}
	}
	request := []byte(`{"action":"rollback","requestId":"undo-v3","reason":"v3 broke checkout"}`)
	result, err := invoke(t, w.handler(t, 0), request)
	if err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("rollback request: result %+v, error %v", result, err)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s after the rollback request, want %s (the deployment before the live one)", function, got, w.v2)
		}
	}
	again, err := invoke(t, w.handler(t, 0), request)
	if err != nil || again.DeploymentID != "rollback-undo-v3" || again.Status != string(history.StatusSucceeded) {
		t.Errorf("repeated rollback request: result %+v, error %v", again, err)
	}
}

func TestRollbackRequestWithoutHistoryFails(t *testing.T) {
	w := newWorld(t, 0)
	_, err := invoke(t, w.handler(t, 0), []byte(`{"action":"rollback"}`))
	if err == nil || !strings.Contains(err.Error(), "has no SUCCEEDED deployment to restore") {
		t.Fatalf("Handle() error = %v, want one that says there is nothing to restore", err)
	}
}

func TestTargetsItemProblemsFailTheJob(t *testing.T) {
	cases := map[string]struct{ item, want string }{
		"unknown field": {`{"targets":[{"functionName":"api"}],"target":"x"}`, `unknown field "target"`},
		"no targets":    {`{"targets":[]}`, "no deploy targets"},
		"name and ARN":  {`{"targets":[{"functionName":"api"},{"functionName":"arn:aws:lambda:us-east-1:123456789012:function:api"}]}`, "deploys to arn:aws:lambda:us-east-1:123456789012:function:api a second time"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 0)
			w.account.WriteTargetsJSON(t, table, tc.item)
			result, err := invoke(t, w.handler(t, 0), w.newJob(t, w.v2).Event(t))
			if err != nil || result.Status != StatusRejected || !strings.Contains(result.Message, tc.want) {
				t.Fatalf("result %+v, error %v; want it rejected with %q", result, err, tc.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the handler's writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRetriedJobIDDeploysOnce: a repeated delivery of a finished job reports
// its outcome again, without reading the artifact or deploying.
func TestRetriedJobIDDeploysOnce(t *testing.T) {
	w := newWorld(t, 0)
	h := w.handler(t, 0)
	job := w.newJob(t, w.v2)
	if result, err := invoke(t, h, job.Event(t)); err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("first delivery: result %+v, error %v", result, err)
	}
	result, err := invoke(t, h, job.Event(t))
	if err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("repeated delivery: result %+v, error %v; want the recorded SUCCEEDED", result, err)
	}
	if readers := w.artifacts.Readers(); len(readers) != 1 {
		t.Errorf("the artifact was read %d times, want once: a repeated delivery checks the history first", len(readers))
	}
	versions, err := w.account.Lambda.ListVersionsByFunction(context.Background(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(versions.Versions); got != 3 { // $LATEST, 1, 2
		t.Errorf("api has %d versions after the repeated delivery, want 3 ($LATEST, 1, 2)", got)
	}
	// CodePipeline refuses the second result; the deployer takes that as
	// the job already having one.
	if diff := cmp.Diff([]string{"PutJobSuccessResult " + job.ID, "PutJobSuccessResult " + job.ID}, w.resultsByJob()); diff != "" {
		t.Errorf("job results (-want +got):\n%s", diff)
	}
}

// TestRollbackRequestOutOfTimeContinues: a rollback request that runs out of
// time saves its progress and finishes when invoked again with its ID.
func TestRollbackRequestOutOfTimeContinues(t *testing.T) {
	w := newWorld(t, 0)
	for _, image := range []string{w.v2, w.account.PushImage(t, "app", "v3")} {
		if result, _ := w.drive(t, w.handler(t, 0), w.newJob(t, image), time.Minute); result.Status != string(history.StatusSucceeded) {
			t.Fatalf("deploying %s: %s %q", image, result.Status, result.Message)
		}
	}
	w.lambda.SetPolls(1000)
	request := []byte(`{"action":"rollback","requestId":"slow"}`)
	h := w.handler(t, 400*time.Millisecond)
	_, err := invokeWithin(t, h, request, time.Second)
	if err == nil || !strings.Contains(err.Error(), "invoke the deployer again with the same request") {
		t.Fatalf("first invocation: error %v, want it to ask to be invoked again", err)
	}
	if rec := w.record(t, "rollback-slow"); rec.Status != history.StatusInProgress || rec.RollingBack {
		t.Fatalf("record after the first invocation: status %s, rolling back %t; want the request in progress", rec.Status, rec.RollingBack)
	}
	w.lambda.SetPolls(0)
	result, err := invoke(t, w.handler(t, 0), request)
	if err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("second invocation: result %+v, error %v", result, err)
	}
	for _, function := range []string{"api", "worker"} {
		if got := w.account.CurrentImage(t, function); got != w.v2 {
			t.Errorf("%s runs %s, want %s", function, got, w.v2)
		}
	}
}

// TestOtherCallersDoNotFailTheDeployment: a function whose last update
// Failed still runs its previous code and takes a new update ("Lambda
// function states"); another caller's update that starts after the
// deployer read the status makes Lambda refuse UpdateFunctionCode or
// PublishVersion with ResourceConflictException (their API references,
// Errors). Neither is a reason to fail and roll back: the deployment waits.
func TestOtherCallersDoNotFailTheDeployment(t *testing.T) {
	cases := map[string]func(*testenv.SlowLambda){
		"the last update of api failed":                       func(l *testenv.SlowLambda) { l.FailedLastUpdate("api") },
		"another update of worker starts before ours":         func(l *testenv.SlowLambda) { l.ForeignUpdateBefore("worker", "UpdateFunctionCode") },
		"another update of api starts before the publication": func(l *testenv.SlowLambda) { l.ForeignUpdateBefore("api", "PublishVersion") },
	}
	for name, inject := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 2)
			inject(w.lambda)
			job := w.newJob(t, w.v2)
			result, err := invoke(t, w.handler(t, time.Second), job.Event(t))
			if err != nil {
				t.Fatal(err)
			}
			if result.Status != string(history.StatusSucceeded) {
				t.Fatalf("status %s, message %q; want SUCCEEDED", result.Status, result.Message)
			}
			for _, function := range []string{"api", "worker"} {
				if got := w.account.CurrentImage(t, function); got != w.v2 {
					t.Errorf("%s runs %s, want %s", function, got, w.v2)
				}
			}
		})
	}
}

// TestUnansweredVerificationIsRetried: a throttle or a service error from
// ListActionExecutions ("Common Errors", CodePipeline API reference) proves
// nothing about the job. It must neither fail the pipeline's job ("Nothing
// was deployed") nor, on a continuation, abandon a half-done deployment:
// the invocation fails so that Lambda retries it, and the retry goes on.
func TestUnansweredVerificationIsRetried(t *testing.T) {
	for _, code := range []string{"ThrottlingException", "InternalFailure"} {
		t.Run(code, func(t *testing.T) {
			w := newWorld(t, 0)
			job := w.newJob(t, w.v2)
			// The SDK tries twice (AWS_MAX_ATTEMPTS) in each invocation.
			w.pipeline.FailNextListings(code, code)
			if _, err := invoke(t, w.handler(t, handOffAtOnce), job.Event(t)); err == nil {
				t.Fatal("first job: no error; want the invocation failed so that Lambda retries")
			}
			if calls := w.pipeline.Calls(); len(calls) != 0 {
				t.Fatalf("first job: results %+v reported; want none", calls)
			}
			// The retry hands off after its first step (the margin is an hour).
			result, err := invoke(t, w.handler(t, handOffAtOnce), job.Event(t))
			if err != nil || result.ContinuationToken == "" {
				t.Fatalf("retried first job: result %+v, error %v; want a hand-off", result, err)
			}
			next := mustNext(t, w)
			w.pipeline.FailNextListings(code, code)
			if _, err := invoke(t, w.handler(t, 0), next.Event(t)); err == nil {
				t.Fatal("continuation: no error; want the invocation failed so that Lambda retries")
			}
			for _, call := range w.pipeline.Calls() {
				if call.JobID == next.ID {
					t.Fatalf("continuation: result %+v reported; want none before the retry", call)
				}
			}
			result, err = invoke(t, w.handler(t, 0), next.Event(t))
			if err != nil || result.Status != string(history.StatusSucceeded) {
				t.Fatalf("retried continuation: result %+v, error %v; want SUCCEEDED", result, err)
			}
		})
	}
}

// TestAbandonedActionIsRolledBack: the execution was stopped and its Deploy
// action abandoned ("Stop a pipeline execution in CodePipeline") after
// CodePipeline scheduled the continuation job: nobody will finish the
// deployment, so the continuation rolls it back.
func TestAbandonedActionIsRolledBack(t *testing.T) {
	w := newWorld(t, 30)
	job := w.deployAPIOnly(t, w.newJob(t, w.v2))
	w.pipeline.StopAndAbandon(job)
	result, err := invoke(t, w.handler(t, 0), job.Event(t))
	if err != nil {
		t.Fatal(err)
	}
	if result.Status != string(history.StatusRolledBack) {
		t.Fatalf("status %s, message %q; want ROLLED_BACK", result.Status, result.Message)
	}
	if got := w.account.CurrentImage(t, "api"); got != w.v1 {
		t.Errorf("api runs %s, want %s restored", got, w.v1)
	}
	if got := w.account.AliasVersion(t, "api", "live"); got != "1" {
		t.Errorf("alias live of api points at version %s, want 1", got)
	}
}

// TestDeployedTagOnAnImageIndex: docker buildx pushes an OCI image index by
// default (provenance attestations); ECR returns its manifest to
// BatchGetImage only when the caller accepts its media type, and retagging
// puts that same manifest again under the new tag ("Retagging an image in
// Amazon ECR"). Each kind of image gets its deployed tag.
func TestDeployedTagOnAnImageIndex(t *testing.T) {
	w := newWorld(t, 0)
	images := map[string]string{
		"OCI image index": w.account.PushImageIndex(t, "app", "v3"),
		"OCI manifest":    w.v2,
	}
	for name, image := range images {
		t.Run(name, func(t *testing.T) {
			tag := contract.DeployedTagPrefix + "test-" + strings.ReplaceAll(name, " ", "-")
			if err := w.handler(t, 0).tagImage(context.Background(), image, tag); err != nil {
				t.Fatalf("tagImage() error = %v", err)
			}
			if tags := w.account.ImageTags(t, "app", image[strings.Index(image, "@")+1:]); !slices.Contains(tags, tag) {
				t.Errorf("image has tags %v, want %s among them", tags, tag)
			}
		})
	}
}

// TestUntaggedImageIsReported: the deployment succeeded but its image did
// not get its deployed tag (here: it left the repository meanwhile). That
// is not a failure, but the job's summary and the history must say so: the
// lifecycle policy may expire the image and a rollback to it then fails.
func TestUntaggedImageIsReported(t *testing.T) {
	w := newWorld(t, 0)
	job := w.newJob(t, w.v2)
	h := w.handler(t, 0)
	digest := w.v2[strings.Index(w.v2, "@")+1:]
	// Delete the image once Lambda took it, before the tag is added.
	h.deps.Images = &deletingImages{Images: h.deps.Images, delete: func() {
		if _, err := w.account.ECR.BatchDeleteImage(context.Background(), &ecr.BatchDeleteImageInput{
			RepositoryName: aws.String("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
		}); err != nil {
			t.Error(err)
		}
	}}
	result, err := invoke(t, h, job.Event(t))
	if err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("result %+v, error %v; want SUCCEEDED", result, err)
	}
	calls := w.pipeline.Calls()
	if len(calls) != 1 || !strings.Contains(calls[0].Summary, "Warning: the image did not get its deployed tag") {
		t.Errorf("job results %+v; want a summary warning that the image is untagged", calls)
	}
	if rec := w.record(t, job.ID); rec.ImageTagged || rec.ImageTagError == "" {
		t.Errorf("record: imageTagged %t, imageTagError %q; want the error recorded", rec.ImageTagged, rec.ImageTagError)
	}
}

// deletingImages runs delete before the first ECR call.
type deletingImages struct {
	awsapi.Images
	delete func()
	once   sync.Once
}

func (d *deletingImages) BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, opts ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	d.once.Do(d.delete)
	return d.Images.BatchGetImage(ctx, in, opts...)
}

// TestAbandonedDeploymentIsRolledBackByTheNext: CodePipeline ended a
// deployment's action without invoking the deployer again: it timed out
// (no reply for 20 minutes, "Quotas in AWS CodePipeline") or the execution
// was stopped and the action abandoned ("Stop a pipeline execution in
// CodePipeline"). The next deployment must not be refused for a day: it
// asks CodePipeline, rolls the abandoned one back, and deploys.
func TestAbandonedDeploymentIsRolledBackByTheNext(t *testing.T) {
	ends := map[string]func(*testenv.CodePipeline, *testenv.Job){
		"timed out":             (*testenv.CodePipeline).TimeOut,
		"stopped and abandoned": (*testenv.CodePipeline).StopAndAbandon,
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 30)
			v3 := w.account.PushImage(t, "app", "v3")
			first := w.newJob(t, w.v2)
			end(w.pipeline, w.deployAPIOnly(t, first))
			w.lambda.SetPolls(0)
			result, _ := w.drive(t, w.handler(t, 0), w.newJob(t, v3), time.Minute)
			if result.Status != string(history.StatusSucceeded) {
				t.Fatalf("next deployment: status %s, message %q; want SUCCEEDED", result.Status, result.Message)
			}
			if rec := w.record(t, first.ID); rec.Status != history.StatusRolledBack {
				t.Errorf("abandoned deployment is %s (%s); want ROLLED_BACK", rec.Status, rec.Error)
			}
			for _, function := range []string{"api", "worker"} {
				if got := w.account.CurrentImage(t, function); got != v3 {
					t.Errorf("%s runs %s, want %s", function, got, v3)
				}
			}
		})
	}
}

// deployAPIOnly runs first and its continuations, handing off often (600 ms
// invocations with a 400 ms margin: every update of 30 polls of 10 ms
// outlasts one), until api, the first target, is deployed; it returns the
// continuation job CodePipeline scheduled next. An invocation that fails
// (it ran out of time saving) is delivered again, as Lambda retries it.
func (w *world) deployAPIOnly(t *testing.T, first *testenv.Job) *testenv.Job {
	t.Helper()
	h := w.handler(t, 400*time.Millisecond)
	job := first
	for range 100 {
		if _, err := invokeWithin(t, h, job.Event(t), 600*time.Millisecond); err != nil {
			continue
		}
		job = mustNext(t, w)
		if w.record(t, first.ID).Targets[0].Phase == history.PhaseDone {
			if got := w.account.CurrentImage(t, "api"); got != w.v2 {
				t.Fatalf("api runs %s once deployed; want %s", got, w.v2)
			}
			return job
		}
	}
	t.Fatal("api was never deployed")
	return nil
}

// TestTargetRoleIsAssumedWithItsExternalID: a cross-account target's
// external ID reaches the client factory with its role, on every call of the
// deployment, and stays in the history for a later rollback of the target.
func TestTargetRoleIsAssumedWithItsExternalID(t *testing.T) {
	w := newWorld(t, 0)
	w.account.WriteTargets(t, table, contract.Target{FunctionName: "worker", RoleARN: remoteRole, ExternalID: "tenant-42"})
	h := w.handler(t, 0)
	clients, err := awsapi.NewClients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	roles := map[awsapi.Role]int{}
	h.deps.LambdaFor = func(role awsapi.Role, session awsapi.Session) awsapi.Lambda {
		mu.Lock()
		defer mu.Unlock()
		roles[role]++
		// moto's function lives in the default account: act as the
		// deployer's own role there.
		return clients.LambdaFor(awsapi.Role{}, session)
	}
	job := w.newJob(t, w.v2)
	if result, err := invoke(t, h, job.Event(t)); err != nil || result.Status != string(history.StatusSucceeded) {
		t.Fatalf("result %+v, error %v", result, err)
	}
	want := awsapi.Role{ARN: remoteRole, ExternalID: "tenant-42"}
	if len(roles) != 1 || roles[want] == 0 {
		t.Errorf("clients were asked for %v, want only %+v", roles, want)
	}
	if got := w.record(t, job.ID).Targets[0].ExternalID; got != "tenant-42" {
		t.Errorf("the history records external ID %q, want tenant-42", got)
	}
}
