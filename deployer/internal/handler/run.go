package handler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/rollout"
)

// leaseWithoutDeadline bounds the lease of an invocation whose context has no
// deadline (never the case in Lambda): the Lambda maximum timeout.
const leaseWithoutDeadline = 15 * time.Minute

func (h *Handler) newRecord(ctx context.Context, deploymentID string, kind history.Kind) *history.Record {
	now := time.Now()
	return &history.Record{
		DeploymentID:   deploymentID,
		Timestamp:      now.UnixMilli(),
		Kind:           kind,
		Status:         history.StatusInProgress,
		Environment:    h.cfg.Environment,
		PipelineName:   h.cfg.PipelineName,
		StartedAt:      now.UTC().Format(time.RFC3339Nano),
		LeaseExpiresAt: leaseUntil(ctx),
	}
}

// start takes the targets' leases for a new deployment and runs it.
func (h *Handler) start(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	return h.leaseAndRun(ctx, rec, mode)
}

// leaseAndRun takes or renews the targets' leases and runs the deployment.
// A target another deployment holds fails it; a lease that could not be
// written in time is retried by the next invocation.
func (h *Handler) leaseAndRun(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	work, cancel := h.workContext(ctx)
	defer cancel()
	stale, err := h.store.LeaseTargets(work, rec.DeploymentID, rec.Targets)
	if busy, ok := errors.AsType[*history.TargetBusyError](err); ok {
		// The holder may have been abandoned by CodePipeline: then nobody
		// will finish it, and this deployment rolls it back first.
		switch finished, takeErr := h.takeOverAbandoned(ctx, busy.Holder); {
		case takeErr != nil:
			h.logFor(rec).Warn("cannot tell whether the deployment holding a target was abandoned", "holder", busy.Holder, "error", takeErr.Error())
		case finished:
			stale, err = h.store.LeaseTargets(work, rec.DeploymentID, rec.Targets)
		default:
			return h.pause(ctx, rec, mode) // its rollback continues in this deployment's next invocation
		}
	}
	for _, holder := range stale {
		// Leases that expired unreleased: their holder stopped before
		// finishing. This deployment holds the targets now; undo the
		// holder's changes before making its own.
		finished, takeErr := h.takeOverAbandoned(ctx, holder)
		if takeErr != nil {
			h.logFor(rec).Warn("cannot roll back the deployment whose expired lease was taken", "holder", holder, "error", takeErr.Error())
		} else if !finished {
			return h.pause(ctx, rec, mode)
		}
	}
	switch {
	case errors.Is(err, history.ErrTargetBusy):
		return h.fail(ctx, rec, mode, fmt.Errorf("taking the targets: %w", err))
	case err != nil && work.Err() != nil:
		return h.pause(ctx, rec, mode)
	case err != nil:
		return h.fail(ctx, rec, mode, fmt.Errorf("taking the targets: %w", err))
	}
	return h.run(ctx, rec, mode)
}

// run advances the deployment (or its rollback) one step at a time, saving
// each step, until it finishes or time runs out. It never fails for lack of
// time: a pipeline job hands off to a continuation, a direct request asks to
// be invoked again.
func (h *Handler) run(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	work, cancel := h.workContext(ctx)
	defer cancel()
	for {
		if h.timeLeft(ctx) < h.cfg.DeadlineMargin {
			return h.pause(ctx, rec, mode)
		}
		progress, finished, err := h.step(work, rec)
		if work.Err() != nil {
			// A step cut short by the invocation's time is not a failure:
			// the next invocation repeats it (every step is idempotent).
			return h.pause(ctx, rec, mode)
		}
		if finished {
			if rec.RollingBack {
				return h.finishRollback(ctx, rec, mode)
			}
			return h.succeed(ctx, rec, mode)
		}
		if err != nil {
			h.startRollback(rec, err)
		}
		if progress != rollout.Waiting || err != nil {
			if err := h.store.Save(work, rec); err != nil {
				if errors.Is(err, history.ErrConflict) {
					return h.stopOnSaveError(rec, err)
				}
				if work.Err() != nil {
					return h.pause(ctx, rec, mode) // the hand-off records the step
				}
				h.logFor(rec).Error("cannot record the deployment's progress", "error", err.Error())
				h.startRollback(rec, fmt.Errorf("recording the deployment's progress: %w", err))
			}
			continue
		}
		// Lambda is still updating the function: poll again if a poll and
		// the hand-off still fit before the deadline, otherwise hand off.
		if h.timeLeft(ctx) < h.cfg.DeadlineMargin+h.cfg.PollInterval {
			return h.pause(ctx, rec, mode)
		}
		timer := time.NewTimer(h.cfg.PollInterval)
		select {
		case <-work.Done():
			timer.Stop()
			return h.pause(ctx, rec, mode)
		case <-timer.C:
		}
	}
}

// step performs the next step: of the deployment, or of its rollback once
// it failed. finished says there is nothing left to do.
func (h *Handler) step(ctx context.Context, rec *history.Record) (progress rollout.Progress, finished bool, err error) {
	if rec.RollingBack {
		target := nextRestore(rec)
		if target == nil {
			return rollout.Done, true, nil
		}
		client := h.lambdaFor(rec, target)
		if target.Rollback == history.RollbackNotStarted {
			err = rollout.RestoreAlias(ctx, client, target)
		} else {
			progress, err = rollout.RestoreCode(ctx, client, target)
		}
		if err != nil && ctx.Err() == nil {
			h.logFor(rec).Error("rollback of a target failed", "function", target.FunctionName, "error", err.Error())
		} else if target.Phase == history.PhaseRolledBack {
			h.logFor(rec).Info("target rolled back", "function", target.FunctionName, "image", target.PreviousImage)
		}
		return progress, false, nil
	}
	target := nextTarget(rec)
	if target == nil {
		return rollout.Done, true, nil
	}
	progress, err = rollout.Step(ctx, h.lambdaFor(rec, target), target)
	if err != nil && ctx.Err() == nil {
		target.Error = err.Error()
		return progress, false, fmt.Errorf("deploying to %s: %w", target.FunctionName, err)
	}
	if progress != rollout.Waiting {
		h.logFor(rec).Info("target advanced", "function", target.FunctionName, "phase", target.Phase, "version", target.NewVersion)
	}
	return progress, false, nil
}

func nextTarget(rec *history.Record) *history.TargetRecord {
	for i := range rec.Targets {
		if rec.Targets[i].Phase != history.PhaseDone {
			return &rec.Targets[i]
		}
	}
	return nil
}

// nextRestore picks the next rollback step: every alias first (newest target
// first), then every function's code.
func nextRestore(rec *history.Record) *history.TargetRecord {
	for i := len(rec.Targets) - 1; i >= 0; i-- {
		if t := &rec.Targets[i]; t.NeedsRestore() && t.Rollback == history.RollbackNotStarted {
			return t
		}
	}
	for i := len(rec.Targets) - 1; i >= 0; i-- {
		if t := &rec.Targets[i]; t.NeedsRestore() {
			return t
		}
	}
	return nil
}

// startRollback turns the deployment into its rollback; the run loop then
// restores the targets it may have changed.
func (h *Handler) startRollback(rec *history.Record, cause error) {
	if rec.RollingBack {
		return
	}
	rec.RollingBack = true
	rec.Error = cause.Error()
	h.logFor(rec).Error("deployment failed: rolling back the targets it changed", "error", rec.Error)
}

// fail starts the rollback of a deployment and runs it.
func (h *Handler) fail(ctx context.Context, rec *history.Record, mode mode, cause error) (*Result, error) {
	h.startRollback(rec, cause)
	work, cancel := h.workContext(ctx)
	defer cancel()
	if err := h.store.Save(work, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		h.logFor(rec).Error("cannot record the failure", "error", err.Error())
	}
	return h.run(ctx, rec, mode)
}

// checkAliases refuses, before anything changes, a deployment with a target
// whose alias it could not move whole (rollout.CheckAlias: weighted routing).
func (h *Handler) checkAliases(ctx context.Context, rec *history.Record) error {
	for i := range rec.Targets {
		target := &rec.Targets[i]
		if err := rollout.CheckAlias(ctx, h.lambdaFor(rec, target), target); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) lambdaFor(rec *history.Record, target *history.TargetRecord) awsapi.Lambda {
	return h.deps.LambdaFor(awsapi.Role{ARN: target.RoleARN, ExternalID: target.ExternalID}, sessionFor(rec))
}

// sessionFor names the assumed-role session after the pipeline and the
// deployment, so the target account's CloudTrail tells which deployment
// changed a function. Role session names and source identities are 2-64
// characters of [\w+=,.@-] (AssumeRole API reference).
func sessionFor(rec *history.Record) awsapi.Session {
	return awsapi.Session{
		Name:           sessionSafe("deployer-" + rec.PipelineName + "-" + rec.DeploymentID),
		SourceIdentity: sessionSafe("cicd-" + rec.PipelineName),
	}
}

func sessionSafe(s string) string {
	out := make([]byte, 0, 64)
	for i := 0; i < len(s) && len(out) < 64; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '+', c == '=', c == ',', c == '.', c == '@', c == '-':
			out = append(out, c)
		default:
			out = append(out, '-')
		}
	}
	return string(out)
}

func (h *Handler) timeLeft(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return leaseWithoutDeadline
	}
	return time.Until(deadline)
}

// workContext bounds the AWS calls of the steps: they end half the deadline
// margin before the deadline, so the other half is left to record the state
// and report the job.
func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-h.cfg.DeadlineMargin/2))
}

// reportContext outlives the work context, whose end leaves the reserve to
// record the state and report the job, but not the invocation: Lambda stops
// the function at its deadline ("Configure Lambda function timeout", Lambda
// Developer Guide), so nothing is left running for a later invocation to
// find. Without a deadline (never in Lambda) it allows reportTimeout.
func reportContext(ctx context.Context) (context.Context, context.CancelFunc) {
	bounded := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(bounded, deadline)
	}
	return context.WithTimeout(bounded, reportTimeout)
}

// reportTimeout bounds reporting when the invocation has no deadline.
const reportTimeout = 30 * time.Second

// bestEffortContext bounds a call the report does not depend on (renewing or
// releasing leases, which expire by themselves) to half of what is left of
// ctx, so that it cannot take the reserve from the record and the report.
func bestEffortContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(deadline)/2)
}

// pause ends the invocation before its deadline with the deployment saved.
func (h *Handler) pause(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	if mode == pipelineJob {
		return h.handOff(ctx, rec)
	}
	rec.LeaseExpiresAt = 0
	ctx, cancel := reportContext(ctx)
	defer cancel()
	if err := h.store.Save(ctx, rec); err != nil {
		return nil, fmt.Errorf("the %s ran out of time and its progress could not be recorded: %w", rec.Kind, err)
	}
	if mode == abandonedDeployment {
		h.logFor(rec).Warn("out of time: the rollback of the abandoned deployment continues in the next invocation that finds it")
		return resultOf(rec, "the rollback continues in a later invocation"), nil
	}
	message := fmt.Sprintf("%s %s is not finished and ran out of time; invoke the deployer again with the same request to continue it", rec.Kind, rec.DeploymentID)
	h.logFor(rec).Warn("out of time: waiting to be invoked again")
	return resultOf(rec, message), errors.New(message)
}

// handOff saves the deployment and gives CodePipeline a continuation token:
// CodePipeline schedules a new job with it, and the deployment continues
// where it stopped.
func (h *Handler) handOff(ctx context.Context, rec *history.Record) (*Result, error) {
	token, err := newContinuationToken(rec)
	if err != nil {
		return nil, err
	}
	rec.ContinuationToken = token
	rec.AwaitingContinuation = true
	rec.LeaseExpiresAt = 0
	saveCtx, cancel := reportContext(ctx)
	defer cancel()
	// The continuation comes within CodePipeline's 20 minutes or never: the
	// renewed leases outlast them and then free the targets.
	renewCtx, cancelRenew := bestEffortContext(saveCtx)
	_, err = h.store.LeaseTargets(renewCtx, rec.DeploymentID, rec.Targets)
	cancelRenew()
	if err != nil {
		h.logFor(rec).Warn("cannot renew the targets' leases before the hand-off", "error", err.Error())
	}
	if err := h.store.Save(saveCtx, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		// Without the saved token a continuation would be refused: fail the
		// invocation, and Lambda's retry takes the deployment over.
		return nil, fmt.Errorf("recording the deployment's progress before continuing it: %w", err)
	}
	h.logFor(rec).Info("handing the deployment to a continuation", "rollingBack", rec.RollingBack)
	return h.reportHandOff(ctx, rec)
}

func (h *Handler) succeed(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	work, cancel := h.workContext(ctx)
	h.tagDeployedImage(work, rec)
	cancel()
	finish(rec, history.StatusSucceeded)
	return h.finished(ctx, rec, mode)
}

// finishRollback ends a failed deployment once every target it may have
// changed is restored or could not be.
func (h *Handler) finishRollback(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	status := history.StatusFailed
	changed := false
	for _, target := range rec.Targets {
		changed = changed || target.Phase == history.PhaseRolledBack || target.Phase == history.PhaseRollbackFailed
	}
	if changed && !anyPhase(rec, history.PhaseRollbackFailed) {
		status = history.StatusRolledBack
	}
	if anyPhase(rec, history.PhaseRollbackFailed) {
		h.emitRollbackFailed(rec)
	}
	finish(rec, status)
	return h.finished(ctx, rec, mode)
}

// finished records a terminal deployment, releases its targets and reports.
func (h *Handler) finished(ctx context.Context, rec *history.Record, mode mode) (*Result, error) {
	saveCtx, cancel := reportContext(ctx)
	defer cancel()
	if err := h.store.Save(saveCtx, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return h.stopOnSaveError(rec, err)
		}
		h.logFor(rec).Error("the deployment finished but could not be recorded", "status", rec.Status, "error", err.Error())
	}
	releaseCtx, cancelRelease := bestEffortContext(saveCtx)
	err := h.store.ReleaseTargets(releaseCtx, rec.DeploymentID, rec.Targets)
	cancelRelease()
	if err != nil {
		h.logFor(rec).Error("cannot release the targets' leases; they expire by themselves", "error", err.Error())
	}
	message := outcomeMessage(rec)
	h.logFor(rec).Info("deployment finished", "status", rec.Status, "durationMs", rec.DurationMillis)
	switch mode {
	case directRequest:
		return resultOf(rec, message), errorOf(rec)
	case abandonedDeployment:
		return resultOf(rec, message), nil // CodePipeline ended its job: nothing to report to
	}
	if err := h.reportOutcome(ctx, rec.JobID, rec, message); err != nil {
		return nil, err
	}
	return resultOf(rec, message), nil
}

func finish(rec *history.Record, status history.Status) {
	now := time.Now()
	rec.Status = status
	rec.FinishedAt = now.UTC().Format(time.RFC3339Nano)
	rec.DurationMillis = now.UnixMilli() - rec.Timestamp
	rec.LeaseExpiresAt = 0
	rec.AwaitingContinuation = false
	rec.ContinuationToken = ""
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
