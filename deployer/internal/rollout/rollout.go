// Package rollout moves one Lambda function to a new container image, one
// resumable step at a time, and restores it when a deployment fails. Each
// step's outcome is kept in the target's history record, so a deployment can
// continue in a later invocation (CodePipeline continuation) or be rolled back
// by one that finds it interrupted.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// Progress is what a step achieved.
type Progress int

// Step outcomes.
const (
	// Advanced means the target moved to its next phase.
	Advanced Progress = iota
	// Waiting means Lambda is still updating the function: ask again later.
	Waiting
	// Done means the target runs and serves the new image.
	Done
)

// digestReference is an image reference by digest, which is what Lambda's
// ResolvedImageUri holds and the safest way to restore an image.
var digestReference = regexp.MustCompile(`^[^@]+@sha256:[a-f0-9]{64}$`)

// Step performs the next step of deploying target.NewImage and records the
// outcome in target. An error leaves target in a phase that tells whether the
// function may have changed (history.Phase.MayHaveChanged).
func Step(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) (Progress, error) {
	switch target.Phase {
	case history.PhasePending:
		return Advanced, prepare(ctx, client, target)
	case history.PhasePrepared:
		return Advanced, updateCode(ctx, client, target)
	case history.PhaseUpdating:
		config, updated, err := updatedConfiguration(ctx, client, target.FunctionName)
		if err != nil || !updated {
			return Waiting, err
		}
		out, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{
			FunctionName: aws.String(target.FunctionName),
			// Both guard against publishing someone else's concurrent change.
			RevisionId: config.RevisionId,
			CodeSha256: config.CodeSha256,
		})
		if err != nil {
			return Advanced, fmt.Errorf("publishing a version of %s: %w", target.FunctionName, err)
		}
		target.NewVersion = aws.ToString(out.Version)
		target.Phase = history.PhasePublished
		if target.Alias == "" {
			target.Phase = history.PhaseDone
			return Done, nil
		}
		return Advanced, nil
	case history.PhasePublished:
		if err := pointAlias(ctx, client, target.FunctionName, target.Alias, target.NewVersion, target.PreviousVersion == ""); err != nil {
			return Advanced, err
		}
		target.Phase = history.PhaseDone
		return Done, nil
	case history.PhaseDone:
		return Done, nil
	}
	return Advanced, fmt.Errorf("target %s is in phase %s, from which it cannot be deployed", target.FunctionName, target.Phase)
}

// prepare records what the target runs and serves now, so that it can be
// restored.
func prepare(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) error {
	out, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(target.FunctionName)})
	if err != nil {
		return fmt.Errorf("reading the current image of %s: %w", target.FunctionName, err)
	}
	if out.Configuration != nil && out.Configuration.PackageType != types.PackageTypeImage {
		return fmt.Errorf("%s is packaged as %q; the deployer only deploys container images (PackageType Image)", target.FunctionName, out.Configuration.PackageType)
	}
	if out.Code == nil || aws.ToString(out.Code.ImageUri) == "" {
		return fmt.Errorf("lambda reported no image for %s", target.FunctionName)
	}
	target.PreviousImage = aws.ToString(out.Code.ImageUri)
	if resolved := aws.ToString(out.Code.ResolvedImageUri); digestReference.MatchString(resolved) {
		target.PreviousImage = resolved
	}
	if target.Alias != "" {
		alias, err := client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(target.FunctionName), Name: aws.String(target.Alias)})
		var notFound *types.ResourceNotFoundException
		switch {
		case errors.As(err, &notFound):
			// The alias is created when the new version is published.
		case err != nil:
			return fmt.Errorf("reading alias %s of %s: %w", target.Alias, target.FunctionName, err)
		default:
			target.PreviousVersion = aws.ToString(alias.FunctionVersion)
		}
	}
	target.Phase = history.PhasePrepared
	return nil
}

func updateCode(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) error {
	_, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String(target.FunctionName),
		ImageUri:     aws.String(target.NewImage),
	})
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr):
		// Lambda answered and refused: the function is unchanged.
		target.Phase = history.PhaseRejected
		return fmt.Errorf("lambda refused to update %s to image %s: %w", target.FunctionName, target.NewImage, err)
	case err != nil:
		// No answer (network, timeout): the update may have happened, so the
		// target stays PREPARED and a rollback restores it.
		return fmt.Errorf("updating %s to image %s: %w", target.FunctionName, target.NewImage, err)
	}
	target.Phase = history.PhaseUpdating
	return nil
}

// updatedConfiguration returns the function's configuration and whether its
// last update succeeded (false while it is in progress), or an error when the
// update failed.
func updatedConfiguration(ctx context.Context, client awsapi.Lambda, functionName string) (*lambda.GetFunctionConfigurationOutput, bool, error) {
	config, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(functionName)})
	if err != nil {
		return nil, false, fmt.Errorf("reading the update status of %s: %w", functionName, err)
	}
	switch config.LastUpdateStatus {
	case types.LastUpdateStatusInProgress:
		return config, false, nil
	case types.LastUpdateStatusFailed:
		return config, false, fmt.Errorf("lambda could not update %s: %s (%s)", functionName,
			aws.ToString(config.LastUpdateStatusReason), config.LastUpdateStatusReasonCode)
	}
	return config, true, nil
}

func pointAlias(ctx context.Context, client awsapi.Lambda, functionName, alias, version string, create bool) error {
	if create {
		_, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName:    aws.String(functionName),
			Name:            aws.String(alias),
			FunctionVersion: aws.String(version),
			Description:     aws.String("Managed by the CI/CD deployer"),
		})
		if _, exists := errors.AsType[*types.ResourceConflictException](err); !exists {
			if err != nil {
				return fmt.Errorf("creating alias %s of %s at version %s: %w", alias, functionName, version, err)
			}
			return nil
		}
		// Someone created it meanwhile: move it like an existing one.
	}
	_, err := client.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName:    aws.String(functionName),
		Name:            aws.String(alias),
		FunctionVersion: aws.String(version),
	})
	if err != nil {
		return fmt.Errorf("moving alias %s of %s to version %s: %w", alias, functionName, version, err)
	}
	return nil
}

// Waiter paces the wait for Lambda to finish an update.
type Waiter struct {
	// PollInterval is the pause between two status reads.
	PollInterval time.Duration
	// Until is when to stop waiting.
	Until time.Time
}

// Wait pauses for one poll interval, or returns an error when that would pass
// w.Until or ctx ends.
func (w Waiter) Wait(ctx context.Context, what string) error {
	if !w.Until.IsZero() && time.Now().Add(w.PollInterval).After(w.Until) {
		return fmt.Errorf("gave up waiting for %s: the invocation is about to time out", what)
	}
	timer := time.NewTimer(w.PollInterval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	case <-timer.C:
		return nil
	}
}

// Restore puts back the image and alias version the target had before the
// deployment and records the outcome in target.Phase and target.Error.
func Restore(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord, waiter Waiter) error {
	err := restore(ctx, client, target, waiter)
	if err != nil {
		target.Phase = history.PhaseRollbackFailed
		target.Error = joinMessages(target.Error, "rollback failed: "+err.Error())
		return err
	}
	target.Phase = history.PhaseRolledBack
	return nil
}

func restore(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord, waiter Waiter) error {
	if target.PreviousImage == "" {
		return fmt.Errorf("the previous image of %s was not recorded", target.FunctionName)
	}
	// Moving the alias back first restores what callers of the alias see
	// without waiting for the code update.
	if target.Alias != "" && target.PreviousVersion != "" {
		if err := pointAlias(ctx, client, target.FunctionName, target.Alias, target.PreviousVersion, false); err != nil {
			return err
		}
	}
	if err := waitForUpdate(ctx, client, target.FunctionName, waiter); err != nil {
		return err
	}
	_, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String(target.FunctionName),
		ImageUri:     aws.String(target.PreviousImage),
	})
	if err != nil {
		return fmt.Errorf("restoring %s to image %s: %w", target.FunctionName, target.PreviousImage, err)
	}
	if err := waitForUpdate(ctx, client, target.FunctionName, waiter); err != nil {
		return err
	}
	if target.Alias != "" && target.PreviousVersion == "" && target.Phase == history.PhaseDone {
		// The deployment created the alias; without a previous version to
		// return to, point it at a version of the restored image.
		out, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(target.FunctionName)})
		if err != nil {
			return fmt.Errorf("publishing the restored image of %s: %w", target.FunctionName, err)
		}
		return pointAlias(ctx, client, target.FunctionName, target.Alias, aws.ToString(out.Version), false)
	}
	return nil
}

// waitForUpdate waits until the function accepts a new code update: Lambda
// refuses one while the previous update is in progress.
func waitForUpdate(ctx context.Context, client awsapi.Lambda, functionName string, waiter Waiter) error {
	for {
		config, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(functionName)})
		if err != nil {
			return fmt.Errorf("reading the update status of %s: %w", functionName, err)
		}
		if config.LastUpdateStatus != types.LastUpdateStatusInProgress {
			return nil
		}
		if err := waiter.Wait(ctx, "the update of "+functionName); err != nil {
			return err
		}
	}
}

func joinMessages(first, second string) string {
	if first == "" {
		return second
	}
	return first + "; " + second
}
