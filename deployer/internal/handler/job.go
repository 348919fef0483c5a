package handler

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/artifact"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

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
	return h.startJob(ctx, job)
}

// startJob handles a job without a continuation token: a new deployment, or
// a repeated delivery of one.
func (h *Handler) startJob(ctx context.Context, job events.CodePipelineJob) (*Result, error) {
	params, err := ParseUserParameters(job.Data.ActionConfiguration.Configuration.UserParameters)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}
	input, err := inputArtifact(job)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}
	// Every call before the deployment runs ends with the step context, so
	// the job is reported (or the invocation fails for Lambda to retry)
	// before the deadline even when a service does not answer.
	work, cancel := h.workContext(ctx)
	defer cancel()
	// The history before anything is read: a repeated delivery never reads
	// the artifact (a later build may have replaced it) and never deploys
	// again.
	existing, err := h.store.Lookup(work, job.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the history of job %s: %w", job.ID, err)
	}
	if existing != nil {
		return h.redelivered(ctx, job.ID, existing.Record, existing.ReservationLeaseExpiresAt)
	}
	if err := h.verifyJob(work, params.PipelineExecutionID, input.Location.S3Location); err != nil {
		if errors.Is(err, errNotConfirmed) {
			return h.reject(ctx, job.ID, err)
		}
		// CodePipeline did not answer (a throttle, a service error): nothing
		// is reserved yet, so Lambda's retry of the invocation starts over.
		h.log.Error("cannot confirm the job with CodePipeline yet: failing the invocation so that Lambda retries it", "jobId", job.ID, "error", err.Error())
		return nil, err
	}
	targetsJSON, err := h.store.TargetsJSON(work)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}
	targets, err := ParseTargets(targetsJSON)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}
	creds := job.Data.ArtifactCredentials
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return h.reject(ctx, job.ID, errors.New("the job carries no artifact credentials to read the input artifact with"))
	}
	location := input.Location.S3Location
	image, err := artifact.ReadImage(work, h.deps.ArtifactsWith(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken), location.BucketName, location.ObjectKey)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}

	rec := h.newRecord(ctx, job.ID, history.KindPipeline)
	rec.JobID = job.ID
	rec.JobIDs = []string{job.ID}
	rec.PipelineExecutionID = params.PipelineExecutionID
	rec.Commit = params.CommitID
	if rec.Commit == "" && input.Revision != nil {
		rec.Commit = *input.Revision
	}
	rec.ImageURI, rec.ImageDigest = image.URI, image.Digest
	for _, target := range targets {
		rec.Targets = append(rec.Targets, history.TargetRecord{
			FunctionName: target.FunctionName, RoleARN: target.RoleARN, ExternalID: target.ExternalID, Alias: target.Alias,
			Phase: history.PhasePending, NewImage: image.URI,
		})
	}
	if err := h.checkAliases(work, rec); err != nil {
		return h.reject(ctx, job.ID, err)
	}
	existing, err = h.store.Reserve(work, rec)
	if err != nil {
		return h.reject(ctx, job.ID, fmt.Errorf("recording the deployment: %w", err))
	}
	if existing != nil { // another delivery reserved it meanwhile
		return h.redelivered(ctx, job.ID, existing.Record, existing.ReservationLeaseExpiresAt)
	}
	h.logFor(rec).Info("deployment started", "image", rec.ImageURI, "targets", len(rec.Targets))
	return h.start(ctx, rec, pipelineJob)
}

func inputArtifact(job events.CodePipelineJob) (events.CodePipelineInputArtifact, error) {
	if len(job.Data.InputArtifacts) == 0 {
		return events.CodePipelineInputArtifact{}, errors.New("the Deploy action has no input artifact: make the Build stage's output artifact (with " + contract.ImageDetailFile + ") its input")
	}
	input := job.Data.InputArtifacts[0]
	location := input.Location.S3Location
	if input.Location.LocationType != "S3" || location.BucketName == "" || location.ObjectKey == "" {
		return input, fmt.Errorf("input artifact %q has no S3 location (type %q)", input.Name, input.Location.LocationType)
	}
	return input, nil
}

// errNotConfirmed means CodePipeline answered and the job is not the Deploy
// action of this pipeline in progress in the execution it names. Any other
// error of verifyJob means CodePipeline could not be asked (a throttle, a
// service error: "Common Errors", CodePipeline API reference), which proves
// nothing about the job.
var errNotConfirmed = errors.New("the job is not confirmed by CodePipeline")

// verifyJob confirms with CodePipeline (ListActionExecutions) that the
// pipeline this deployer serves has its Deploy action in progress in the
// named execution, reading the input artifact at location. Anyone allowed to
// invoke the deployer could otherwise send a job of their own making.
func (h *Handler) verifyJob(ctx context.Context, executionID string, location events.CodePipelineS3Location) error {
	actions, err := h.deployActionsInProgress(ctx, executionID)
	if err != nil {
		return err
	}
	for _, action := range actions {
		if action.Input == nil {
			continue
		}
		for _, input := range action.Input.InputArtifacts {
			if input.S3location != nil && aws.ToString(input.S3location.Bucket) == location.BucketName && aws.ToString(input.S3location.Key) == location.ObjectKey {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: pipeline %s has no %s action of stage %s in progress in execution %s reading s3://%s/%s", errNotConfirmed,
		h.cfg.PipelineName, contract.DeployActionName, contract.DeployStageName, executionID, location.BucketName, location.ObjectKey)
}

// deployActionsInProgress lists the Deploy action executions of this
// pipeline's execution that CodePipeline has InProgress. An error wrapping
// errNotConfirmed is CodePipeline's definite answer that the execution is
// not the pipeline's.
func (h *Handler) deployActionsInProgress(ctx context.Context, executionID string) ([]cptypes.ActionExecutionDetail, error) {
	in := &codepipeline.ListActionExecutionsInput{
		PipelineName: aws.String(h.cfg.PipelineName),
		Filter:       &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(executionID)},
	}
	var actions []cptypes.ActionExecutionDetail
	for {
		out, err := h.deps.Pipeline.ListActionExecutions(ctx, in)
		if definiteListingError(err) {
			return nil, fmt.Errorf("%w: ListActionExecutions of pipeline %s, execution %s: %w", errNotConfirmed, h.cfg.PipelineName, executionID, err)
		}
		if err != nil {
			return nil, fmt.Errorf("asking CodePipeline (ListActionExecutions of pipeline %s, execution %s): %w", h.cfg.PipelineName, executionID, err)
		}
		for _, action := range out.ActionExecutionDetails {
			if aws.ToString(action.StageName) == contract.DeployStageName && aws.ToString(action.ActionName) == contract.DeployActionName &&
				action.Status == cptypes.ActionExecutionStatusInProgress {
				actions = append(actions, action)
			}
		}
		if out.NextToken == nil {
			return actions, nil
		}
		in.NextToken = out.NextToken
	}
}

// definiteListingError recognises ListActionExecutions' answers that are
// about the request, not CodePipeline's availability: no such pipeline, an
// execution that is not the pipeline's, an invalid request
// (ListActionExecutions API reference, Errors).
func definiteListingError(err error) bool {
	_, noPipeline := errors.AsType[*cptypes.PipelineNotFoundException](err)
	_, noExecution := errors.AsType[*cptypes.PipelineExecutionNotFoundException](err)
	_, invalid := errors.AsType[*cptypes.ValidationException](err)
	return noPipeline || noExecution || invalid
}

// continuation is the token CodePipeline hands back on the next job. Nonce
// makes it unguessable and single-use: it must equal the token recorded at
// the hand-off.
type continuation struct {
	DeploymentID string `json:"deploymentId"`
	Timestamp    int64  `json:"timestamp"`
	Nonce        string `json:"nonce"`
}

func newContinuationToken(rec *history.Record) (string, error) {
	token, err := json.Marshal(continuation{DeploymentID: rec.DeploymentID, Timestamp: rec.Timestamp, Nonce: rand.Text()})
	if err != nil {
		return "", fmt.Errorf("encoding the continuation token: %w", err)
	}
	return string(token), nil
}

// continueJob handles a job that carries a continuation token: CodePipeline
// schedules a new job, with a new job ID, for each continuation.
func (h *Handler) continueJob(ctx context.Context, job events.CodePipelineJob) (*Result, error) {
	var token continuation
	if err := json.Unmarshal([]byte(job.Data.ContinuationToken), &token); err != nil || token.DeploymentID == "" || token.Nonce == "" {
		return h.reject(ctx, job.ID, errors.New("the continuation token was not issued by this deployer"))
	}
	work, cancel := h.workContext(ctx)
	defer cancel()
	rec, err := h.store.Get(work, token.DeploymentID, token.Timestamp)
	if history.IsNotFound(err) {
		return h.reject(ctx, job.ID, fmt.Errorf("continuing the deployment: %w", err))
	}
	if err != nil {
		// The deployment may be half done: never report "nothing was
		// deployed" for it. Lambda's retry of the invocation continues it.
		h.log.Error("cannot read the deployment to continue: failing the invocation so that Lambda retries it", "jobId", job.ID, "error", err.Error())
		return nil, fmt.Errorf("reading deployment %s to continue it: %w", token.DeploymentID, err)
	}
	if rec.JobID == job.ID {
		// This continuation job was delivered before.
		return h.redelivered(ctx, job.ID, rec, 0)
	}
	if rec.ContinuationToken == "" || rec.ContinuationToken != job.Data.ContinuationToken {
		return h.reject(ctx, job.ID, fmt.Errorf("the continuation token of deployment %s is not the one it handed to CodePipeline last (it is used up, or from another job)", rec.DeploymentID))
	}
	input, err := inputArtifact(job)
	if err != nil {
		return h.reject(ctx, job.ID, err)
	}
	verifyErr := h.verifyJob(work, rec.PipelineExecutionID, input.Location.S3Location)
	if verifyErr != nil && !errors.Is(verifyErr, errNotConfirmed) {
		// The token is saved until the continuation is recorded, so Lambda's
		// retry of the invocation continues the deployment.
		h.logFor(rec).Error("cannot confirm the continuation with CodePipeline yet: failing the invocation so that Lambda retries it", "error", verifyErr.Error())
		return nil, verifyErr
	}
	rec.JobID = job.ID
	rec.JobIDs = append(rec.JobIDs, job.ID)
	rec.ContinuationToken = ""
	rec.AwaitingContinuation = false
	rec.LeaseExpiresAt = leaseUntil(ctx)
	if err := h.store.Save(work, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		return nil, fmt.Errorf("recording the continuation of deployment %s: %w", rec.DeploymentID, err)
	}
	if verifyErr != nil {
		// The token was ours, so the job was CodePipeline's, but its action
		// is no longer in progress (the execution was stopped and the
		// action abandoned, or it timed out): nobody will continue the
		// deployment, so undo what it changed now.
		return h.fail(ctx, rec, pipelineJob, fmt.Errorf("the Deploy action ended before the deployment finished: %w", verifyErr))
	}
	h.logFor(rec).Info("deployment continued", "jobs", len(rec.JobIDs))
	return h.leaseAndRun(ctx, rec, pipelineJob)
}

// redelivered handles a job delivered again (Lambda retries, duplicate
// events): it never starts the deployment again.
func (h *Handler) redelivered(ctx context.Context, jobID string, rec *history.Record, reservationLease int64) (*Result, error) {
	log := h.log.With("jobId", jobID)
	if rec == nil {
		if time.Now().UnixMilli() < reservationLease {
			log.Info("repeated delivery of a job another invocation is starting: ignored")
			return &Result{DeploymentID: jobID, JobID: jobID, Status: string(history.StatusInProgress), Message: "another invocation is starting this job"}, nil
		}
		return h.reject(ctx, jobID, errors.New("an earlier delivery of this job stopped before deploying anything; retry the Deploy action"))
	}
	log = log.With("deploymentId", rec.DeploymentID)
	switch {
	case rec.Status.Terminal():
		log.Info("repeated delivery of a finished job: reporting its recorded outcome again", "status", rec.Status)
		return h.reportRecorded(ctx, jobID, rec)
	case rec.JobID != jobID:
		log.Info("repeated delivery of a job that was continued by a later one: ignored", "currentJobId", rec.JobID)
		return resultOf(rec, "the deployment continues in job "+rec.JobID), nil
	case rec.AwaitingContinuation:
		// The hand-off was saved but perhaps never reported: report it
		// again, or the job hangs until CodePipeline times it out.
		log.Info("repeated delivery of a job handed to a continuation: sending its token again")
		return h.reportHandOff(ctx, rec)
	case time.Now().UnixMilli() < rec.LeaseExpiresAt:
		log.Info("repeated delivery of a job another invocation is deploying: ignored", "leaseExpiresAt", time.UnixMilli(rec.LeaseExpiresAt).UTC().Format(time.RFC3339))
		return resultOf(rec, "another invocation is deploying this job"), nil
	}
	// The invocation that owned the deployment is past its deadline: take it
	// over and roll back what it changed.
	rec.LeaseExpiresAt = leaseUntil(ctx)
	work, cancel := h.workContext(ctx)
	defer cancel()
	if err := h.store.Save(work, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		return nil, fmt.Errorf("taking over deployment %s: %w", rec.DeploymentID, err)
	}
	if rec.RollingBack {
		log.Warn("the invocation rolling back this deployment stopped before finishing: continuing the rollback")
		return h.run(ctx, rec, pipelineJob)
	}
	log.Warn("the invocation running this deployment stopped before finishing: rolling back")
	return h.fail(ctx, rec, pipelineJob, errors.New("the invocation running the deployment stopped before finishing (timeout or crash)"))
}
