// Package handler is the deployer Lambda's entry point: it recognises the
// event (a CodePipeline job, or a rollback request invoked directly), deploys
// the image to the targets step by step, records every step in the history
// table, rolls back on failure and reports the job's result to CodePipeline.
package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/artifact"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/rollout"
)

// CodePipeline's limits on job result texts.
const (
	maxFailureMessage = 5000
	maxSummary        = 2048
)

// reportReserve is kept free before the deadline for recording the outcome
// and reporting it when a rollback has to wait for Lambda.
const reportReserve = 5 * time.Second

// leaseWithoutDeadline bounds the lease of an invocation whose context has no
// deadline (never the case in Lambda): the Lambda maximum timeout.
const leaseWithoutDeadline = 15 * time.Minute

// Deps are the AWS clients the handler uses.
type Deps struct {
	Table      awsapi.Table
	JobResults awsapi.JobResults
	// LambdaFor returns a client acting as roleARN, or as the deployer's role
	// when it is empty.
	LambdaFor func(roleARN string) awsapi.Lambda
	// ArtifactsWith returns a client using the job's artifact credentials.
	ArtifactsWith func(accessKeyID, secretAccessKey, sessionToken string) awsapi.Artifacts
}

// Handler handles the deployer's invocations.
type Handler struct {
	cfg   Config
	deps  Deps
	store *history.Store
	log   *slog.Logger
}

// New returns a Handler.
func New(cfg Config, deps Deps, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg, deps: deps, store: history.NewStore(deps.Table, cfg.Table), log: log}
}

// Result statuses beyond the history's.
const (
	// StatusRejected means the event or its parameters were unusable and
	// nothing was deployed.
	StatusRejected = "REJECTED"
)

// Result is the invocation's response: CodePipeline ignores it, a person
// invoking a rollback reads it.
type Result struct {
	DeploymentID      string                 `json:"deploymentId,omitempty"`
	JobID             string                 `json:"jobId,omitempty"`
	Status            string                 `json:"status"`
	Message           string                 `json:"message"`
	ContinuationToken string                 `json:"continuationToken,omitempty"`
	Targets           []history.TargetRecord `json:"targets,omitempty"`
}

// mode says whether the deployment runs for a pipeline job, which can be
// continued in a later invocation, or for a direct request, which cannot.
type mode int

const (
	pipelineJob mode = iota
	directRequest
)

// Handle is the Lambda handler. It returns an error only when the outcome
// could not be reported to CodePipeline (so that Lambda retries the
// invocation, which reports it from the history) or, for a direct rollback
// request, when the rollback failed.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (result *Result, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			h.log.Error("the deployer panicked; this is a bug", "panic", fmt.Sprint(recovered), "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("the deployer hit an internal error: %v", recovered)
		}
	}()
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil {
		h.log.Error("rejected an event that is not a JSON object", "error", err.Error())
		return nil, fmt.Errorf("the event is not a JSON object: %w", err)
	}
	if job, ok := probe["CodePipeline.job"]; ok {
		return h.handleJobEvent(ctx, job)
	}
	if _, ok := probe["action"]; ok {
		return h.handleRollbackRequest(ctx, payload)
	}
	h.log.Error("rejected an unrecognised event", "keys", keysOf(probe))
	return nil, fmt.Errorf(`unrecognised event: expected a CodePipeline job event {"CodePipeline.job": ...} or a rollback request {"action": %q}`, contract.RollbackAction)
}

func (h *Handler) handleJobEvent(ctx context.Context, raw json.RawMessage) (*Result, error) {
	var job events.CodePipelineJob
	if err := json.Unmarshal(raw, &job); err != nil {
		var idOnly struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &idOnly) != nil || idOnly.ID == "" {
			h.log.Error("rejected a malformed CodePipeline job event without a job ID", "error", err.Error())
			return nil, fmt.Errorf("the CodePipeline job event is malformed and has no job ID: %w", err)
		}
		return h.reject(ctx, idOnly.ID, fmt.Errorf("the CodePipeline job event is malformed: %w", err))
	}
	if job.ID == "" {
		h.log.Error("rejected a CodePipeline job event without a job ID")
		return nil, errors.New("the CodePipeline job event has no job ID")
	}
	if job.Data.ContinuationToken != "" {
		return h.continueJob(ctx, job)
	}
	params, err := ParseUserParameters(job.Data.ActionConfiguration.Configuration.UserParameters)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}
	if len(job.Data.InputArtifacts) == 0 {
		return h.reject(ctx, job.ID, errors.New("the Deploy action has no input artifact: make the Build stage's output artifact (with "+contract.ImageDetailFile+") its input"))
	}
	input := job.Data.InputArtifacts[0]
	location := input.Location.S3Location
	if input.Location.LocationType != "S3" || location.BucketName == "" || location.ObjectKey == "" {
		return h.reject(ctx, job.ID, fmt.Errorf("input artifact %q has no S3 location (type %q)", input.Name, input.Location.LocationType))
	}
	creds := job.Data.ArtifactCredentials
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return h.reject(ctx, job.ID, errors.New("the job carries no artifact credentials to read the input artifact with"))
	}
	image, err := artifact.ReadImage(ctx, h.deps.ArtifactsWith(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken), location.BucketName, location.ObjectKey)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}

	rec := h.newRecord(ctx, job.ID, history.KindPipeline)
	rec.JobID = job.ID
	rec.PipelineExecutionID = params.PipelineExecutionID
	rec.Commit = params.CommitID
	if rec.Commit == "" && input.Revision != nil {
		rec.Commit = *input.Revision
	}
	rec.ImageURI, rec.ImageDigest = image.URI, image.Digest
	for _, target := range params.Targets {
		rec.Targets = append(rec.Targets, history.TargetRecord{
			FunctionName: target.FunctionName, RoleARN: target.RoleARN, Alias: target.Alias,
			Phase: history.PhasePending, NewImage: image.URI,
		})
	}
	existing, err := h.store.Claim(ctx, rec)
	if err != nil {
		return h.reject(ctx, job.ID, fmt.Errorf("cannot record the deployment: %w", err))
	}
	if existing != nil {
		return h.redelivered(ctx, job.ID, existing)
	}
	h.logFor(rec).Info("deployment started", "image", rec.ImageURI, "targets", len(rec.Targets))
	return h.run(ctx, rec, pipelineJob)
}

// continuation is the token CodePipeline hands back on the next invocation.
type continuation struct {
	DeploymentID string `json:"deploymentId"`
	Timestamp    int64  `json:"timestamp"`
}

func (h *Handler) continueJob(ctx context.Context, job events.CodePipelineJob) (*Result, error) {
	var token continuation
	if err := json.Unmarshal([]byte(job.Data.ContinuationToken), &token); err != nil || token.DeploymentID == "" {
		return h.reject(ctx, job.ID, fmt.Errorf("the continuation token %q was not issued by this deployer", job.Data.ContinuationToken))
	}
	rec, err := h.store.Get(ctx, token.DeploymentID, token.Timestamp)
	if err != nil {
		return h.reject(ctx, job.ID, fmt.Errorf("cannot continue the deployment: %w", err))
	}
	if rec.JobID != job.ID {
		return h.reject(ctx, job.ID, fmt.Errorf("the continuation token names deployment %s of job %s, not of this job", rec.DeploymentID, rec.JobID))
	}
	if rec.Status.Terminal() {
		return h.reportRecorded(ctx, rec)
	}
	rec.AwaitingContinuation = false
	rec.LeaseExpiresAt = leaseUntil(ctx)
	if err := h.store.Save(ctx, rec); err != nil {
		return h.stopOnSaveError(rec, err)
	}
	h.logFor(rec).Info("deployment continued")
	return h.run(ctx, rec, pipelineJob)
}

// redelivered handles a job ID that was claimed before: it never deploys
// again, it reports what the earlier delivery recorded.
func (h *Handler) redelivered(ctx context.Context, jobID string, existing *history.Existing) (*Result, error) {
	rec := existing.Record
	log := h.log.With("jobId", jobID, "deploymentId", jobID)
	if rec != nil && rec.Status.Terminal() {
		log.Info("repeated delivery of a finished job: reporting its recorded outcome again", "status", rec.Status)
		return h.reportRecorded(ctx, rec)
	}
	if rec != nil && rec.AwaitingContinuation {
		log.Info("repeated delivery of a job that CodePipeline will continue with its token: ignored")
		return &Result{DeploymentID: rec.DeploymentID, JobID: jobID, Status: string(history.StatusInProgress),
			Message: "the deployment is in progress and awaits its continuation"}, nil
	}
	lease := existing.ClaimLeaseExpiresAt
	if rec != nil {
		lease = rec.LeaseExpiresAt
	}
	if time.Now().UnixMilli() < lease {
		log.Info("repeated delivery of a job another invocation is deploying: ignored", "leaseExpiresAt", time.UnixMilli(lease).UTC().Format(time.RFC3339))
		return &Result{DeploymentID: jobID, JobID: jobID, Status: string(history.StatusInProgress),
			Message: "another invocation is deploying this job"}, nil
	}
	if rec == nil {
		return h.reject(ctx, jobID, errors.New("an earlier delivery of this job stopped before deploying anything; retry the Deploy action"))
	}
	// The invocation that owned the deployment is past its deadline: take it
	// over to roll back what it changed.
	rec.LeaseExpiresAt = leaseUntil(ctx)
	if err := h.store.Save(ctx, rec); err != nil {
		return h.stopOnSaveError(rec, err)
	}
	log.Warn("the invocation running this deployment stopped before finishing: rolling back")
	return h.fail(ctx, rec, pipelineJob, errors.New("the invocation running the deployment stopped before finishing (timeout or crash)"))
}

func (h *Handler) handleRollbackRequest(ctx context.Context, payload json.RawMessage) (*Result, error) {
	decoder := json.NewDecoder(bytes.NewReader(payload))
	decoder.DisallowUnknownFields()
	var req contract.RollbackRequest
	if err := decoder.Decode(&req); err != nil {
		h.log.Error("rejected a malformed rollback request", "error", err.Error())
		return nil, fmt.Errorf("the rollback request is malformed (fields: action, requestId, deploymentId, reason): %w", err)
	}
	if req.Action != contract.RollbackAction {
		h.log.Error("rejected a request with an unknown action", "action", req.Action)
		return nil, fmt.Errorf("unknown action %q: the deployer accepts %q", req.Action, contract.RollbackAction)
	}
	requestID := req.RequestID
	if requestID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
	}
	if requestID == "" {
		return nil, errors.New("the rollback request has no requestId and the invocation no Lambda request ID")
	}
	var source *history.Record
	var err error
	if req.DeploymentID != "" {
		source, err = h.store.LatestRecord(ctx, req.DeploymentID)
		if err == nil && source.Status != history.StatusSucceeded {
			err = fmt.Errorf("deployment %s is %s; only a SUCCEEDED deployment can be restored", source.DeploymentID, source.Status)
		}
	} else {
		source, err = h.store.LatestSucceeded(ctx)
	}
	if err != nil {
		h.log.Error("rollback request refused", "error", err.Error())
		return nil, fmt.Errorf("nothing was rolled back: %w", err)
	}

	rec := h.newRecord(ctx, "rollback-"+requestID, history.KindRollback)
	rec.RestoredDeploymentID = source.DeploymentID
	rec.Reason = req.Reason
	rec.ImageURI, rec.ImageDigest, rec.Commit = source.ImageURI, source.ImageDigest, source.Commit
	for _, target := range source.Targets {
		rec.Targets = append(rec.Targets, history.TargetRecord{
			FunctionName: target.FunctionName, RoleARN: target.RoleARN, Alias: target.Alias,
			Phase: history.PhasePending, NewImage: target.NewImage,
		})
	}
	existing, err := h.store.Claim(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("nothing was rolled back: cannot record the rollback: %w", err)
	}
	if existing != nil {
		if existing.Record == nil || !existing.Record.Status.Terminal() {
			return nil, fmt.Errorf("rollback request %s is already running", requestID)
		}
		return resultOf(existing.Record, outcomeMessage(existing.Record)), errorOf(existing.Record)
	}
	h.logFor(rec).Info("rollback started", "restoring", source.DeploymentID, "targets", len(rec.Targets))
	return h.run(ctx, rec, directRequest)
}

func (h *Handler) newRecord(ctx context.Context, deploymentID string, kind history.Kind) *history.Record {
	now := time.Now()
	return &history.Record{
		DeploymentID:   deploymentID,
		Timestamp:      now.UnixMilli(),
		Kind:           kind,
		Status:         history.StatusInProgress,
		Environment:    h.cfg.Environment,
		StartedAt:      now.UTC().Format(time.RFC3339Nano),
		LeaseExpiresAt: leaseUntil(ctx),
	}
}

// run advances the targets in order, one step at a time, recording each step.
func (h *Handler) run(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	for {
		target := nextTarget(rec)
		if target == nil {
			return h.succeed(ctx, rec, mode)
		}
		progress, err := rollout.Step(ctx, h.deps.LambdaFor(target.RoleARN), target)
		if err != nil {
			target.Error = err.Error()
			return h.fail(ctx, rec, mode, fmt.Errorf("deploying to %s: %w", target.FunctionName, err))
		}
		if progress != rollout.Waiting {
			h.logFor(rec).Info("target advanced", "function", target.FunctionName, "phase", target.Phase, "version", target.NewVersion)
			if err := h.store.Save(ctx, rec); err != nil {
				if errors.Is(err, history.ErrConflict) {
					return h.stopOnSaveError(rec, err)
				}
				return h.fail(ctx, rec, mode, fmt.Errorf("cannot record the deployment's progress: %w", err))
			}
		}
		if nextTarget(rec) == nil {
			continue
		}
		if mode == pipelineJob && h.nearDeadline(ctx) {
			return h.handOff(ctx, rec)
		}
		if progress == rollout.Waiting {
			if err := h.waiter(ctx, 0).Wait(ctx, "the update of "+target.FunctionName); err != nil {
				return h.fail(ctx, rec, mode, err)
			}
		}
	}
}

func nextTarget(rec *history.Record) *history.TargetRecord {
	for i := range rec.Targets {
		if rec.Targets[i].Phase != history.PhaseDone {
			return &rec.Targets[i]
		}
	}
	return nil
}

func (h *Handler) nearDeadline(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < h.cfg.DeadlineMargin
}

// waiter stops waiting reserve before the deadline (or, for a direct
// request, DeadlineMargin before it, to leave time to roll back).
func (h *Handler) waiter(ctx context.Context, reserve time.Duration) rollout.Waiter {
	w := rollout.Waiter{PollInterval: h.cfg.PollInterval}
	if deadline, ok := ctx.Deadline(); ok {
		if reserve == 0 {
			reserve = h.cfg.DeadlineMargin
		}
		w.Until = deadline.Add(-reserve)
	}
	return w
}

func (h *Handler) succeed(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	finish(rec, history.StatusSucceeded)
	if err := h.store.Save(ctx, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		// The targets run the new image; say so, and that the history lacks it.
		h.logFor(rec).Error("deployment succeeded but could not be recorded", "error", err.Error())
	}
	summary := outcomeMessage(rec)
	h.logFor(rec).Info("deployment succeeded", "durationMs", rec.DurationMillis)
	if mode == pipelineJob {
		if err := h.reportSuccess(ctx, rec, summary, ""); err != nil {
			return nil, err
		}
	}
	return resultOf(rec, summary), nil
}

// fail rolls back every target the deployment may have changed, newest first,
// records the outcome and reports it.
func (h *Handler) fail(ctx context.Context, rec *history.Record, mode mode, cause error) (*Result, error) {
	rec.Error = cause.Error()
	h.logFor(rec).Error("deployment failed: rolling back the targets it changed", "error", rec.Error)
	waiter := h.waiter(ctx, reportReserve)
	changed := false
	for i := len(rec.Targets) - 1; i >= 0; i-- {
		target := &rec.Targets[i]
		if !target.Phase.MayHaveChanged() {
			continue
		}
		changed = true
		if err := rollout.Restore(ctx, h.deps.LambdaFor(target.RoleARN), target, waiter); err != nil {
			h.logFor(rec).Error("rollback of a target failed", "function", target.FunctionName, "error", err.Error())
			continue
		}
		h.logFor(rec).Info("target rolled back", "function", target.FunctionName, "image", target.PreviousImage)
	}
	status := history.StatusFailed
	if changed && !anyPhase(rec, history.PhaseRollbackFailed) {
		status = history.StatusRolledBack
	}
	finish(rec, status)
	if err := h.store.Save(ctx, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		h.logFor(rec).Error("could not record the failed deployment", "error", err.Error())
	}
	message := outcomeMessage(rec)
	if mode == directRequest {
		return resultOf(rec, message), errors.New(message)
	}
	if err := h.reportFailure(ctx, rec.JobID, rec.DeploymentID, cptypes.FailureTypeJobFailed, message); err != nil {
		return nil, err
	}
	return resultOf(rec, message), nil
}

// handOff saves the deployment and gives CodePipeline a continuation token:
// CodePipeline invokes the deployer again with it, and the deployment
// continues where it stopped.
func (h *Handler) handOff(ctx context.Context, rec *history.Record) (*Result, error) {
	rec.AwaitingContinuation = true
	rec.LeaseExpiresAt = 0
	if err := h.store.Save(ctx, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		return h.fail(ctx, rec, pipelineJob, fmt.Errorf("cannot record the deployment's progress before continuing it: %w", err))
	}
	token, err := json.Marshal(continuation{DeploymentID: rec.DeploymentID, Timestamp: rec.Timestamp})
	if err != nil {
		return nil, fmt.Errorf("encoding the continuation token: %w", err)
	}
	done := 0
	for _, target := range rec.Targets {
		if target.Phase == history.PhaseDone {
			done++
		}
	}
	summary := fmt.Sprintf("Deploying %s: %d of %d targets done; continuing in the next invocation", rec.ImageURI, done, len(rec.Targets))
	h.logFor(rec).Info("handing the deployment to a continuation", "targetsDone", done)
	if err := h.reportSuccess(ctx, rec, summary, string(token)); err != nil {
		return nil, err
	}
	result := resultOf(rec, summary)
	result.ContinuationToken = string(token)
	return result, nil
}

// reportRecorded reports a finished deployment's outcome again.
func (h *Handler) reportRecorded(ctx context.Context, rec *history.Record) (*Result, error) {
	message := outcomeMessage(rec)
	var err error
	if rec.Status == history.StatusSucceeded {
		err = h.reportSuccess(ctx, rec, message, "")
	} else {
		err = h.reportFailure(ctx, rec.JobID, rec.DeploymentID, cptypes.FailureTypeJobFailed, message)
	}
	if err != nil {
		return nil, err
	}
	return resultOf(rec, message), nil
}

// reject fails a job that could not start: nothing was deployed.
func (h *Handler) reject(ctx context.Context, jobID string, cause error) (*Result, error) {
	message := "Nothing was deployed: " + cause.Error()
	h.log.Error("job rejected", "jobId", jobID, "error", cause.Error())
	if err := h.reportFailure(ctx, jobID, "", cptypes.FailureTypeConfigurationError, message); err != nil {
		return nil, err
	}
	return &Result{JobID: jobID, Status: StatusRejected, Message: message}, nil
}

// stopOnSaveError ends an invocation that lost the record to another one:
// that invocation owns the deployment and reports it.
func (h *Handler) stopOnSaveError(rec *history.Record, err error) (*Result, error) {
	h.logFor(rec).Warn("stopping: another invocation took over the deployment", "error", err.Error())
	return &Result{DeploymentID: rec.DeploymentID, JobID: rec.JobID, Status: string(history.StatusInProgress),
		Message: "another invocation took over the deployment"}, nil
}

func (h *Handler) reportSuccess(ctx context.Context, rec *history.Record, summary, token string) error {
	in := &codepipeline.PutJobSuccessResultInput{
		JobId: aws.String(rec.JobID),
		ExecutionDetails: &cptypes.ExecutionDetails{
			Summary:             aws.String(truncate(summary, maxSummary)),
			ExternalExecutionId: aws.String(rec.DeploymentID),
		},
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	_, err := h.deps.JobResults.PutJobSuccessResult(ctx, in)
	return h.checkReport(rec.JobID, "success", err)
}

func (h *Handler) reportFailure(ctx context.Context, jobID, deploymentID string, kind cptypes.FailureType, message string) error {
	details := &cptypes.FailureDetails{Type: kind, Message: aws.String(truncate(message, maxFailureMessage))}
	if deploymentID != "" {
		details.ExternalExecutionId = aws.String(deploymentID)
	}
	_, err := h.deps.JobResults.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: aws.String(jobID), FailureDetails: details})
	return h.checkReport(jobID, "failure", err)
}

// checkReport tolerates a job that is already finished (a repeated delivery
// reporting again) and turns other errors into the invocation's error, so
// that Lambda retries and the retry reports from the history.
func (h *Handler) checkReport(jobID, kind string, err error) error {
	var finished *cptypes.InvalidJobStateException
	switch {
	case err == nil:
		h.log.Info("reported the job's result", "jobId", jobID, "result", kind)
		return nil
	case errors.As(err, &finished):
		h.log.Info("the job already has a result", "jobId", jobID, "result", kind)
		return nil
	}
	h.log.Error("could not report the job's result to CodePipeline", "jobId", jobID, "result", kind, "error", err.Error())
	return fmt.Errorf("reporting job %s's %s to CodePipeline: %w", jobID, kind, err)
}

func (h *Handler) logFor(rec *history.Record) *slog.Logger {
	return h.log.With("deploymentId", rec.DeploymentID, "jobId", rec.JobID, "kind", rec.Kind)
}

func finish(rec *history.Record, status history.Status) {
	now := time.Now()
	rec.Status = status
	rec.FinishedAt = now.UTC().Format(time.RFC3339Nano)
	rec.DurationMillis = now.UnixMilli() - rec.Timestamp
	rec.LeaseExpiresAt = 0
	rec.AwaitingContinuation = false
}

func leaseUntil(ctx context.Context) int64 {
	if deadline, ok := ctx.Deadline(); ok {
		return deadline.UnixMilli()
	}
	return time.Now().Add(leaseWithoutDeadline).UnixMilli()
}

func anyPhase(rec *history.Record, phase history.Phase) bool {
	for _, target := range rec.Targets {
		if target.Phase == phase {
			return true
		}
	}
	return false
}

func resultOf(rec *history.Record, message string) *Result {
	return &Result{DeploymentID: rec.DeploymentID, JobID: rec.JobID, Status: string(rec.Status), Message: message, Targets: rec.Targets}
}

func errorOf(rec *history.Record) error {
	if rec.Status == history.StatusSucceeded {
		return nil
	}
	return errors.New(outcomeMessage(rec))
}

// outcomeMessage tells a developer what happened and what to do.
func outcomeMessage(rec *history.Record) string {
	var b strings.Builder
	what := "Deployment " + rec.DeploymentID
	if rec.Kind == history.KindRollback {
		what = fmt.Sprintf("Rollback %s (restoring deployment %s)", rec.DeploymentID, rec.RestoredDeploymentID)
	}
	switch rec.Status {
	case history.StatusSucceeded:
		fmt.Fprintf(&b, "%s succeeded: ", what)
		for i, target := range rec.Targets {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s runs %s as version %s", target.FunctionName, target.NewImage, target.NewVersion)
			if target.Alias != "" {
				fmt.Fprintf(&b, " (alias %s)", target.Alias)
			}
		}
		b.WriteString(".")
		return b.String()
	case history.StatusInProgress:
		return what + " is in progress."
	}
	fmt.Fprintf(&b, "%s of %s failed: %s.", what, rec.ImageURI, rec.Error)
	var restored, broken, untouched []string
	for _, target := range rec.Targets {
		switch target.Phase {
		case history.PhaseRolledBack:
			restored = append(restored, fmt.Sprintf("%s to %s", target.FunctionName, target.PreviousImage))
		case history.PhaseRollbackFailed:
			broken = append(broken, fmt.Sprintf("%s (%s)", target.FunctionName, target.Error))
		default:
			untouched = append(untouched, target.FunctionName)
		}
	}
	if len(restored) > 0 {
		fmt.Fprintf(&b, " Rolled back %s.", strings.Join(restored, ", "))
	}
	if len(broken) > 0 {
		fmt.Fprintf(&b, " ROLLBACK FAILED for %s: restore these functions by hand (their previous images are in the history table).", strings.Join(broken, "; "))
	}
	if len(untouched) > 0 {
		fmt.Fprintf(&b, " Not changed: %s.", strings.Join(untouched, ", "))
	}
	if hint := hintFor(rec.Error); hint != "" {
		b.WriteString(" " + hint)
	}
	return b.String()
}

// hintFor suggests the usual fix for well-known causes.
func hintFor(cause string) string {
	switch {
	case strings.Contains(cause, "ImageNotFound") || strings.Contains(cause, "image does not exist"):
		return "Check that the image exists in the ECR repository of the target's account and region; a cross-account target needs the image replicated or a repository policy that lets its account pull it."
	case strings.Contains(cause, "AccessDenied"):
		return "Check the deployer role's policy and, for a cross-account target, that its role trusts the deployer role."
	case strings.Contains(cause, "ResourceConflict"):
		return "Another update of the function was in progress; retry the Deploy stage."
	case strings.Contains(cause, "ResourceNotFound"):
		return "Check the target's function name (and the account of its role)."
	}
	return ""
}

func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "..."
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func keysOf(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// Misconfigured returns a Lambda handler for a deployer whose configuration
// is unusable: it fails every job with the reason, so the pipeline shows it
// instead of timing out.
func Misconfigured(cause error, jobs awsapi.JobResults, log *slog.Logger) func(context.Context, json.RawMessage) (*Result, error) {
	h := &Handler{deps: Deps{JobResults: jobs}, log: log}
	return func(ctx context.Context, payload json.RawMessage) (*Result, error) {
		var event struct {
			Job struct {
				ID string `json:"id"`
			} `json:"CodePipeline.job"`
		}
		if json.Unmarshal(payload, &event) != nil || event.Job.ID == "" {
			log.Error("the deployer is misconfigured", "error", cause.Error())
			return nil, fmt.Errorf("the deployer is misconfigured: %w", cause)
		}
		message := "Nothing was deployed: the deployer is misconfigured: " + cause.Error()
		log.Error("job rejected: the deployer is misconfigured", "jobId", event.Job.ID, "error", cause.Error())
		if err := h.reportFailure(ctx, event.Job.ID, "", cptypes.FailureTypeConfigurationError, message); err != nil {
			return nil, err
		}
		return &Result{JobID: event.Job.ID, Status: StatusRejected, Message: message}, nil
	}
}
