package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// CodePipeline's limits on job result texts (PutJobFailureResult's
// FailureDetails.message, ExecutionDetails.summary: CodePipeline API
// reference).
const (
	maxFailureMessage = 5000
	maxSummary        = 2048
)

// reportHandOff reports the recorded continuation token on the current job.
func (h *Handler) reportHandOff(ctx context.Context, rec *history.Record) (*Result, error) {
	done := 0
	for _, target := range rec.Targets {
		if target.Phase == history.PhaseDone || target.Phase == history.PhaseRolledBack {
			done++
		}
	}
	verb := "Deploying"
	if rec.RollingBack {
		verb = "Rolling back"
	}
	summary := fmt.Sprintf("%s %s: %d of %d targets done; continuing in the next job", verb, rec.ImageURI, done, len(rec.Targets))
	if err := h.reportSuccess(ctx, rec.JobID, rec.DeploymentID, summary, rec.ContinuationToken); err != nil {
		return nil, err
	}
	result := resultOf(rec, summary)
	result.ContinuationToken = rec.ContinuationToken
	return result, nil
}

// reportRecorded reports a finished deployment's outcome on jobID again.
func (h *Handler) reportRecorded(ctx context.Context, jobID string, rec *history.Record) (*Result, error) {
	message := outcomeMessage(rec)
	if err := h.reportOutcome(ctx, jobID, rec, message); err != nil {
		return nil, err
	}
	return resultOf(rec, message), nil
}

func (h *Handler) reportOutcome(ctx context.Context, jobID string, rec *history.Record, message string) error {
	if rec.Status == history.StatusSucceeded {
		return h.reportSuccess(ctx, jobID, rec.DeploymentID, message, "")
	}
	return h.reportFailure(ctx, jobID, rec.DeploymentID, cptypes.FailureTypeJobFailed, message)
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

// stopOnSaveError ends an invocation that lost the record to another one
// (its conditional write failed): that invocation owns the deployment and
// reports it, so this one changes and reports nothing more.
func (h *Handler) stopOnSaveError(rec *history.Record, err error) (*Result, error) {
	h.logFor(rec).Warn("stopping: another invocation took over the deployment", "error", err.Error())
	return &Result{DeploymentID: rec.DeploymentID, JobID: rec.JobID, Status: string(history.StatusInProgress),
		Message: "another invocation took over the deployment"}, nil
}

func (h *Handler) reportSuccess(ctx context.Context, jobID, deploymentID, summary, token string) error {
	in := &codepipeline.PutJobSuccessResultInput{
		JobId: aws.String(jobID),
		ExecutionDetails: &cptypes.ExecutionDetails{
			Summary:             aws.String(truncate(summary, maxSummary)),
			ExternalExecutionId: aws.String(deploymentID),
		},
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	ctx, cancel := reportContext(ctx)
	defer cancel()
	_, err := h.deps.JobResults.PutJobSuccessResult(ctx, in)
	return h.checkReport(jobID, "success", err)
}

func (h *Handler) reportFailure(ctx context.Context, jobID, deploymentID string, kind cptypes.FailureType, message string) error {
	details := &cptypes.FailureDetails{Type: kind, Message: aws.String(truncate(message, maxFailureMessage))}
	if deploymentID != "" {
		details.ExternalExecutionId = aws.String(deploymentID)
	}
	ctx, cancel := reportContext(ctx)
	defer cancel()
	_, err := h.deps.JobResults.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: aws.String(jobID), FailureDetails: details})
	return h.checkReport(jobID, "failure", err)
}

// checkReport tolerates a job that already has a result (a repeated delivery
// reporting again: InvalidJobStateException) and turns other errors into the
// invocation's error, so that Lambda retries and the retry reports from the
// history.
func (h *Handler) checkReport(jobID, kind string, err error) error {
	_, finished := errors.AsType[*cptypes.InvalidJobStateException](err)
	_, unknown := errors.AsType[*cptypes.JobNotFoundException](err)
	switch {
	case err == nil:
		h.log.Info("reported the job's result", "jobId", jobID, "result", kind)
		return nil
	case finished:
		h.log.Info("the job already has a result", "jobId", jobID, "result", kind)
		return nil
	case unknown:
		// Not a job of CodePipeline's (a forged event): retrying would not
		// make it one.
		h.log.Warn("CodePipeline does not know the job: nothing to report to", "jobId", jobID, "result", kind)
		return nil
	}
	h.log.Error("could not report the job's result to CodePipeline", "jobId", jobID, "result", kind, "error", err.Error())
	return fmt.Errorf("reporting job %s's %s to CodePipeline: %w", jobID, kind, err)
}

func (h *Handler) logFor(rec *history.Record) *slog.Logger {
	return h.log.With("deploymentId", rec.DeploymentID, "jobId", rec.JobID, "kind", rec.Kind)
}

// emitRollbackFailed writes the rollback-failed metric for the pipeline.
func (h *Handler) emitRollbackFailed(rec *history.Record) {
	line, err := rollbackFailedMetric(h.cfg.PipelineName, rec.DeploymentID, time.Now())
	if err == nil {
		_, err = h.deps.Metrics.Write(line)
	}
	if err != nil {
		h.logFor(rec).Error("cannot emit the rollback-failed metric", "error", err.Error())
	}
}

// rollbackFailedMetric is one CloudWatch embedded-metric-format log line
// ("Specification: Embedded metric format", CloudWatch User Guide): a count
// of 1 of contract.RollbackFailedMetric with the pipeline as its dimension,
// which the composition function's alarm watches.
func rollbackFailedMetric(pipeline, deploymentID string, at time.Time) ([]byte, error) {
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	type directive struct {
		Namespace  string     `json:"Namespace"`
		Dimensions [][]string `json:"Dimensions"`
		Metrics    []metric   `json:"Metrics"`
	}
	line, err := json.Marshal(map[string]any{
		"_aws": map[string]any{
			"Timestamp": at.UnixMilli(),
			"CloudWatchMetrics": []directive{{
				Namespace:  contract.MetricNamespace,
				Dimensions: [][]string{{contract.MetricPipelineDimension}},
				Metrics:    []metric{{Name: contract.RollbackFailedMetric, Unit: "Count"}},
			}},
		},
		contract.MetricPipelineDimension: pipeline,
		contract.RollbackFailedMetric:    1,
		"deploymentId":                   deploymentID,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the metric: %w", err)
	}
	return append(line, '\n'), nil
}
