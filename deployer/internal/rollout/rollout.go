// Package rollout moves one Lambda function to a new container image, and
// back, one resumable step at a time. Each step's outcome is kept in the
// target's history record, so a deployment or its rollback can continue in a
// later invocation (CodePipeline continuation) or be taken over by one that
// finds it interrupted. No step waits: a step that finds Lambda still
// updating the function says so (Waiting) and the caller decides whether
// there is time to poll again or whether to hand off.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

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
	// Done means the target is finished (deployed, or restored).
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
		return updateCode(ctx, client, target)
	case history.PhaseUpdating:
		return publish(ctx, client, target)
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
	if out.Configuration == nil || out.Configuration.PackageType != types.PackageTypeImage {
		var packageType types.PackageType
		if out.Configuration != nil {
			packageType = out.Configuration.PackageType
		}
		return fmt.Errorf("%s is packaged as %q; the deployer only deploys container images (PackageType Image)", target.FunctionName, packageType)
	}
	if out.Code == nil || aws.ToString(out.Code.ImageUri) == "" {
		return fmt.Errorf("lambda reported no image for %s", target.FunctionName)
	}
	target.PreviousImage = aws.ToString(out.Code.ImageUri)
	if resolved := aws.ToString(out.Code.ResolvedImageUri); digestReference.MatchString(resolved) {
		target.PreviousImage = resolved
	}
	previousVersion, err := aliasVersion(ctx, client, target)
	if err != nil {
		return err
	}
	target.PreviousVersion = previousVersion
	target.Phase = history.PhasePrepared
	return nil
}

// CheckAlias refuses a target whose alias the deployer cannot move whole
// (see aliasVersion). It reads and changes nothing else, so a deployment
// checks every target with it before it changes any.
func CheckAlias(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) error {
	_, err := aliasVersion(ctx, client, target)
	return err
}

// aliasVersion returns the version target's alias points at, "" when the
// target has no alias or the alias does not exist yet (it is created when
// the new version is published). An alias with weighted routing
// (RoutingConfig.AdditionalVersionWeights, "AliasRoutingConfiguration",
// Lambda API reference; "Implement Lambda canary deployments using a
// weighted alias", Lambda Developer Guide) is refused: the deployer moves
// only the alias's FunctionVersion, so the weighted share of the traffic
// would stay on the other version, and the UpdateAlias reference does not
// document that an empty AdditionalVersionWeights clears the routing.
func aliasVersion(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) (string, error) {
	if target.Alias == "" {
		return "", nil
	}
	alias, err := client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(target.FunctionName), Name: aws.String(target.Alias)})
	if _, notFound := errors.AsType[*types.ResourceNotFoundException](err); notFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading alias %s of %s: %w", target.Alias, target.FunctionName, err)
	}
	version := aws.ToString(alias.FunctionVersion)
	if alias.RoutingConfig != nil && len(alias.RoutingConfig.AdditionalVersionWeights) > 0 {
		return "", &WeightedAliasError{Function: target.FunctionName, Alias: target.Alias, Version: version, Weights: alias.RoutingConfig.AdditionalVersionWeights}
	}
	return version, nil
}

// WeightedAliasError refuses an alias that splits its traffic between
// versions.
type WeightedAliasError struct {
	Function, Alias, Version string
	Weights                  map[string]float64
}

func (e *WeightedAliasError) Error() string {
	versions := make([]string, 0, len(e.Weights))
	for version := range e.Weights {
		versions = append(versions, version)
	}
	slices.Sort(versions)
	shares := make([]string, 0, len(versions))
	for _, version := range versions {
		shares = append(shares, fmt.Sprintf("%g%% to version %s", 100*e.Weights[version], version))
	}
	return fmt.Sprintf("alias %s of function %s has weighted routing (RoutingConfig.AdditionalVersionWeights: %s, the rest to version %s); "+
		"the deployer moves only the alias's version, so that share of the traffic would stay on another version: "+
		"finish or remove the traffic shift on the alias, then run the pipeline again",
		e.Alias, e.Function, strings.Join(shares, ", "), e.Version)
}

// updateCode starts the code update once no other update is in progress
// (Lambda refuses one meanwhile). A last update that Failed does not stop
// it: Lambda aborted that update and the function runs its previous code
// ("Lambda function states", Lambda Developer Guide).
func updateCode(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) (Progress, error) {
	config, err := updateStatus(ctx, client, target.FunctionName)
	if err != nil {
		return Waiting, err
	}
	if config.LastUpdateStatus == types.LastUpdateStatusInProgress {
		return Waiting, nil
	}
	out, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String(target.FunctionName),
		ImageUri:     aws.String(target.NewImage),
	})
	if err == nil {
		target.NewCodeSha256 = aws.ToString(out.CodeSha256)
		target.Phase = history.PhaseUpdating
		return Advanced, nil
	}
	if refusedOutright(err) {
		target.Phase = history.PhaseRejected
		return Advanced, fmt.Errorf("lambda refused to update %s to image %s: %w", target.FunctionName, target.NewImage, err)
	}
	// Any other answer (a conflict on an SDK retry of an accepted request, a
	// throttle, a service error, no answer) leaves it open whether Lambda
	// took the update: read the function to find out.
	current, readErr := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(target.FunctionName)})
	if readErr == nil && current.Code != nil && runsImage(current.Code, target.NewImage) && current.Configuration != nil {
		target.NewCodeSha256 = aws.ToString(current.Configuration.CodeSha256)
		target.Phase = history.PhaseUpdating
		return Advanced, nil
	}
	if isConflict(err) && readErr == nil {
		// Another caller's update started after the status read: Lambda
		// refused ours. Wait for it and try again (the target stays
		// PREPARED).
		return Waiting, nil
	}
	// The target stays PREPARED, which a rollback restores.
	return Advanced, fmt.Errorf("updating %s to image %s: %w", target.FunctionName, target.NewImage, err)
}

// refusedOutright reports whether UpdateFunctionCode's error means Lambda
// validated the request and changed nothing. The errors are those of the
// UpdateFunctionCode API reference; ResourceConflictException,
// TooManyRequestsException and ServiceException are not among them: an SDK
// retry of a request Lambda had accepted gets a conflict.
func refusedOutright(err error) bool {
	var (
		invalid     *types.InvalidParameterValueException
		notFound    *types.ResourceNotFoundException
		storage     *types.CodeStorageExceededException
		verify      *types.CodeVerificationFailedException
		signature   *types.InvalidCodeSignatureException
		signing     *types.CodeSigningConfigNotFoundException
		precondtion *types.PreconditionFailedException
	)
	return errors.As(err, &invalid) || errors.As(err, &notFound) || errors.As(err, &storage) || errors.As(err, &verify) ||
		errors.As(err, &signature) || errors.As(err, &signing) || errors.As(err, &precondtion) || isImageNotFound(err)
}

// isImageNotFound recognises moto's and ECR's image-not-found error code,
// which Lambda returns for an image it cannot find.
func isImageNotFound(err error) bool {
	var coded interface{ ErrorCode() string }
	return errors.As(err, &coded) && (coded.ErrorCode() == "ImageNotFoundException" || coded.ErrorCode() == "ImageNotFound")
}

// publish publishes the updated code once Lambda finished the update. The
// CodeSha256 from UpdateFunctionCode's answer guards it: if someone else
// changed the code meanwhile, Lambda refuses (PublishVersion API reference,
// CodeSha256). The published version is then checked to run the image.
func publish(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) (Progress, error) {
	busy, err := updating(ctx, client, target.FunctionName)
	if err != nil || busy {
		return Waiting, err
	}
	in := &lambda.PublishVersionInput{FunctionName: aws.String(target.FunctionName)}
	if target.NewCodeSha256 != "" {
		in.CodeSha256 = aws.String(target.NewCodeSha256)
	}
	out, err := client.PublishVersion(ctx, in)
	if isConflict(err) {
		// Another caller's update started after the status read; once it
		// is over, the CodeSha256 guard tells whether it changed the code.
		return Waiting, nil
	}
	if err != nil {
		return Advanced, fmt.Errorf("publishing a version of %s: %w", target.FunctionName, err)
	}
	version := aws.ToString(out.Version)
	published, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(target.FunctionName), Qualifier: aws.String(version)})
	if err != nil {
		return Advanced, fmt.Errorf("reading version %s of %s: %w", version, target.FunctionName, err)
	}
	if published.Code == nil || !runsImage(published.Code, target.NewImage) {
		return Advanced, fmt.Errorf("version %s of %s does not run image %s: the function was changed by someone else during the deployment", version, target.FunctionName, target.NewImage)
	}
	target.NewVersion = version
	target.Phase = history.PhasePublished
	if target.Alias == "" {
		target.Phase = history.PhaseDone
		return Done, nil
	}
	return Advanced, nil
}

// runsImage reports whether Lambda's code location is image (by reference
// or, for a digest reference, by resolved digest).
func runsImage(code *types.FunctionCodeLocation, image string) bool {
	return aws.ToString(code.ImageUri) == image || aws.ToString(code.ResolvedImageUri) == image
}

// isConflict recognises Lambda's refusal while an update of the function is
// in progress (ResourceConflictException: "The operation cannot be
// performed at this time. An update is in progress", UpdateFunctionCode and
// PublishVersion API references, Errors).
func isConflict(err error) bool {
	_, conflict := errors.AsType[*types.ResourceConflictException](err)
	return conflict
}

// updating returns whether an update of the function is in progress, or an
// error when its last update (this deployment's own, in publish) failed.
func updating(ctx context.Context, client awsapi.Lambda, functionName string) (bool, error) {
	config, err := updateStatus(ctx, client, functionName)
	if err != nil {
		return false, err
	}
	switch config.LastUpdateStatus {
	case types.LastUpdateStatusInProgress:
		return true, nil
	case types.LastUpdateStatusFailed:
		return false, fmt.Errorf("lambda could not update %s: %s (%s)", functionName,
			aws.ToString(config.LastUpdateStatusReason), config.LastUpdateStatusReasonCode)
	}
	return false, nil
}

func updateStatus(ctx context.Context, client awsapi.Lambda, functionName string) (*lambda.GetFunctionConfigurationOutput, error) {
	config, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(functionName)})
	if err != nil {
		return nil, fmt.Errorf("reading the update status of %s: %w", functionName, err)
	}
	return config, nil
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
		// Created meanwhile (by an SDK retry, or someone else): move it like
		// an existing one.
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

// RestoreAlias is a rollback's first step for a target: it points the alias
// back at the version it served before, which callers of the alias see at
// once. A target without an alias to move back passes through.
func RestoreAlias(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) error {
	if target.Alias != "" && target.PreviousVersion != "" {
		if err := pointAlias(ctx, client, target.FunctionName, target.Alias, target.PreviousVersion, false); err != nil {
			return rollbackFailed(ctx, target, err)
		}
	}
	target.Rollback = history.RollbackAliasRestored
	return nil
}

// RestoreCode is a rollback's later step for a target: it puts the previous
// image back on $LATEST once no update is in progress, waits for it, and,
// when the deployment created the alias, points it at a version of the
// restored image. It returns Waiting while Lambda updates the function.
func RestoreCode(ctx context.Context, client awsapi.Lambda, target *history.TargetRecord) (Progress, error) {
	if target.PreviousImage == "" {
		return Done, rollbackFailed(ctx, target, fmt.Errorf("the previous image of %s was not recorded", target.FunctionName))
	}
	config, err := updateStatus(ctx, client, target.FunctionName)
	if err != nil {
		return Done, rollbackFailed(ctx, target, err)
	}
	if config.LastUpdateStatus == types.LastUpdateStatusInProgress {
		return Waiting, nil
	}
	if target.Rollback == history.RollbackAliasRestored {
		// A failed update (the deployment's) does not stop the restore.
		_, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
			FunctionName: aws.String(target.FunctionName),
			ImageUri:     aws.String(target.PreviousImage),
		})
		if isConflict(err) {
			return Waiting, nil // an update started meanwhile: try again after it
		}
		if err != nil {
			return Done, rollbackFailed(ctx, target, fmt.Errorf("restoring %s to image %s: %w", target.FunctionName, target.PreviousImage, err))
		}
		target.Rollback = history.RollbackCodeRequested
		return Advanced, nil
	}
	if config.LastUpdateStatus == types.LastUpdateStatusFailed {
		return Done, rollbackFailed(ctx, target, fmt.Errorf("lambda could not restore %s to image %s: %s (%s)", target.FunctionName, target.PreviousImage,
			aws.ToString(config.LastUpdateStatusReason), config.LastUpdateStatusReasonCode))
	}
	if target.Alias != "" && target.PreviousVersion == "" && target.Phase == history.PhaseDone {
		// The deployment created the alias; without a previous version to
		// return to, point it at a version of the restored image.
		out, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(target.FunctionName)})
		if isConflict(err) {
			return Waiting, nil
		}
		if err != nil {
			return Done, rollbackFailed(ctx, target, fmt.Errorf("publishing the restored image of %s: %w", target.FunctionName, err))
		}
		if err := pointAlias(ctx, client, target.FunctionName, target.Alias, aws.ToString(out.Version), false); err != nil {
			return Done, rollbackFailed(ctx, target, err)
		}
	}
	target.Phase = history.PhaseRolledBack
	return Done, nil
}

// rollbackFailed records that the target cannot be restored, unless the
// step was only cut short by its context (the invocation's time is up): the
// next invocation retries it.
func rollbackFailed(ctx context.Context, target *history.TargetRecord, err error) error {
	if ctx.Err() != nil {
		return err
	}
	target.Phase = history.PhaseRollbackFailed
	target.Error = joinMessages(target.Error, "rollback failed: "+err.Error())
	return err
}

func joinMessages(first, second string) string {
	if first == "" {
		return second
	}
	return first + "; " + second
}
