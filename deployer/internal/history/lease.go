package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// TargetLeaseDuration is how long a lease lasts after the holder's last
// invocation took or renewed it (every invocation and every hand-off does).
// CodePipeline times a Lambda invoke action out when the function "has sent
// no reply after 20 minutes" ("Quotas in AWS CodePipeline", length of time
// before an action times out), and a stopped execution abandons it at once
// ("Stop a pipeline execution in CodePipeline"): after either, nothing
// invokes the holder again. 25 minutes outlast the 20 and a 15-minute
// Lambda invocation. A later deployment that finds a lease busy asks
// CodePipeline whether the holder's action is still in progress and, when
// it is not, rolls the holder back and takes its targets.
const TargetLeaseDuration = 25 * time.Minute

// targetLease is the item that gives one deployment the right to change one
// function: two deployments, or a deployment and a rollback request, never
// touch the same function at once.
type targetLease struct {
	DeploymentID string `dynamodbav:"deploymentId"` // "lease#<function key>"
	Timestamp    int64  `dynamodbav:"timestamp"`    // 0
	Owner        string `dynamodbav:"owner"`
	ExpiresAt    int64  `dynamodbav:"leaseExpiresAt"`
}

// ErrTargetBusy means another deployment holds a target's lease.
var ErrTargetBusy = errors.New("another deployment is changing the function")

// TargetBusyError names the deployment that holds a target's lease.
type TargetBusyError struct {
	Function  string
	Holder    string
	ExpiresAt int64
}

func (e *TargetBusyError) Error() string {
	return fmt.Sprintf("%s: %s (deployment %s holds it until %s)", e.Function, ErrTargetBusy, e.Holder,
		time.UnixMilli(e.ExpiresAt).UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrTargetBusy) hold.
func (e *TargetBusyError) Is(target error) bool { return target == ErrTargetBusy }

// LeaseTargets takes (or renews) the lease of every target for owner. A lease
// is free when nobody holds it, owner holds it, or its holder released it or
// let it expire. It returns the deployments whose expired leases it took
// without their having released them: they stopped before finishing.
func (s *Store) LeaseTargets(ctx context.Context, owner string, targets []TargetRecord) (stale []string, err error) {
	now := time.Now()
	for _, target := range targets {
		id := leaseID(target)
		item, err := attributevalue.MarshalMap(targetLease{DeploymentID: id, Owner: owner, ExpiresAt: now.Add(TargetLeaseDuration).UnixMilli()})
		if err != nil {
			return stale, fmt.Errorf("encoding the lease of %s: %w", target.FunctionName, err)
		}
		out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String(s.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#id) OR #owner = :owner OR #expires < :now"),
			ExpressionAttributeNames: map[string]string{"#id": contract.HashKey, "#owner": "owner", "#expires": "leaseExpiresAt"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":owner": &types.AttributeValueMemberS{Value: owner},
				":now":   &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
			},
			ReturnValues:                        types.ReturnValueAllOld,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if failed, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
			var holder targetLease
			_ = attributevalue.UnmarshalMap(failed.Item, &holder)
			return stale, &TargetBusyError{Function: target.FunctionName, Holder: holder.Owner, ExpiresAt: holder.ExpiresAt}
		}
		if err != nil {
			return stale, fmt.Errorf("leasing %s in table %s: %w", target.FunctionName, s.table, err)
		}
		var old targetLease
		if out != nil && attributevalue.UnmarshalMap(out.Attributes, &old) == nil &&
			old.Owner != "" && old.Owner != owner && old.ExpiresAt != 0 && !slices.Contains(stale, old.Owner) {
			stale = append(stale, old.Owner)
		}
	}
	return stale, nil
}

// ReleaseTargets gives up owner's leases, so the next deployment can start
// at once.
func (s *Store) ReleaseTargets(ctx context.Context, owner string, targets []TargetRecord) error {
	var problems []error
	for _, target := range targets {
		item, err := attributevalue.MarshalMap(targetLease{DeploymentID: leaseID(target), Owner: owner})
		if err != nil {
			return fmt.Errorf("encoding the lease of %s: %w", target.FunctionName, err)
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.table),
			Item:                      item,
			ConditionExpression:       aws.String("#owner = :owner"),
			ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}},
		})
		if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
			continue // not ours (any more): nothing to release
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("releasing %s: %w", target.FunctionName, err))
		}
	}
	return errors.Join(problems...)
}

// leaseID names a function by what identifies it: the account reached (its
// role) and its name, so a function given by name and by ARN shares a lease.
func leaseID(target TargetRecord) string {
	return "lease#" + target.RoleARN + "#" + FunctionShortName(target.FunctionName)
}

// FunctionShortName is the function name of a name or function ARN
// (arn:...:function:<name>, or <account>:function:<name>).
func FunctionShortName(nameOrARN string) string {
	for i := len(nameOrARN) - 1; i >= 0; i-- {
		if nameOrARN[i] == ':' {
			return nameOrARN[i+1:]
		}
	}
	return nameOrARN
}
