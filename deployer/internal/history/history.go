// Package history records deployments in the DynamoDB deployment-history
// table and makes a job ID deploy at most once.
//
// Each deployment is one item keyed by (deploymentId, timestamp): the
// CodePipeline job ID (or "rollback-<request ID>") and the start time in Unix
// milliseconds. Because a DynamoDB condition only sees the item with the same
// full key, a second item per deployment, the reservation, has the fixed timestamp
// 0: the first delivery of a job creates it with a conditional write, so a
// retried delivery of the same job ID finds it and never deploys again. Every
// later write of a record is conditional on the revision it read, so two
// invocations can never overwrite each other's progress.
package history

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
)

// Status is a deployment's outcome.
type Status string

// Deployment statuses.
const (
	StatusInProgress Status = "IN_PROGRESS"
	StatusSucceeded  Status = "SUCCEEDED"
	// StatusFailed means the deployment failed and some target could not be
	// restored, or none had been changed.
	StatusFailed Status = "FAILED"
	// StatusRolledBack means the deployment failed and every target it had
	// changed was restored to its previous image.
	StatusRolledBack Status = "ROLLED_BACK"
)

// Terminal reports whether the deployment has finished.
func (s Status) Terminal() bool { return s != StatusInProgress }

// Kind says what started a deployment.
type Kind string

// Deployment kinds.
const (
	KindPipeline Kind = "pipeline"
	KindRollback Kind = "rollback"
)

// Phase is how far a deployment got with one target.
type Phase string

// Target phases, in deployment order, then the failure outcomes.
const (
	PhasePending   Phase = "PENDING"   // nothing read or changed yet
	PhasePrepared  Phase = "PREPARED"  // previous image and alias version recorded; code update being requested
	PhaseUpdating  Phase = "UPDATING"  // Lambda accepted the new image and is updating the function
	PhasePublished Phase = "PUBLISHED" // the update succeeded and a version was published
	PhaseDone      Phase = "DONE"      // the alias (if any) points at the new version
	// PhaseRejected means Lambda refused the code update, so the function is
	// unchanged.
	PhaseRejected       Phase = "REJECTED"
	PhaseRolledBack     Phase = "ROLLED_BACK"
	PhaseRollbackFailed Phase = "ROLLBACK_FAILED"
)

// MayHaveChanged reports whether the target may run or serve the new image,
// so that a failed deployment must restore it. A PREPARED target counts: its
// code update may have been accepted by Lambda just before the invocation
// died.
func (p Phase) MayHaveChanged() bool {
	switch p {
	case PhasePrepared, PhaseUpdating, PhasePublished, PhaseDone:
		return true
	}
	return false
}

// TargetRecord is one deploy target's part of a deployment.
type TargetRecord struct {
	FunctionName string `dynamodbav:"functionName" json:"functionName"`
	RoleARN      string `dynamodbav:"roleArn,omitempty" json:"roleArn,omitempty"`
	// ExternalID is passed to AssumeRole for RoleARN (contract.Target). A
	// rollback request reuses the one its deployment ran with.
	ExternalID string `dynamodbav:"externalId,omitempty" json:"externalId,omitempty"`
	Alias      string `dynamodbav:"alias,omitempty" json:"alias,omitempty"`
	Phase      Phase  `dynamodbav:"phase" json:"phase"`
	// PreviousImage is the image the function ran before, by digest when
	// Lambda reported one.
	PreviousImage string `dynamodbav:"previousImage,omitempty" json:"previousImage,omitempty"`
	// PreviousVersion is the version Alias pointed at before; empty when the
	// alias did not exist.
	PreviousVersion string `dynamodbav:"previousVersion,omitempty" json:"previousVersion,omitempty"`
	NewImage        string `dynamodbav:"newImage" json:"newImage"`
	// NewCodeSha256 is the CodeSha256 UpdateFunctionCode answered with: the
	// code PublishVersion must publish, so that a change someone else made
	// while the deployer waited is not published as this deployment's.
	NewCodeSha256 string `dynamodbav:"newCodeSha256,omitempty" json:"newCodeSha256,omitempty"`
	NewVersion    string `dynamodbav:"newVersion,omitempty" json:"newVersion,omitempty"`
	// Rollback is how far restoring the target got (RollbackStep).
	Rollback RollbackStep `dynamodbav:"rollback,omitempty" json:"rollback,omitempty"`
	Error    string       `dynamodbav:"error,omitempty" json:"error,omitempty"`
}

// RollbackStep is how far the rollback of one target got. Every alias is
// moved back first (instant for the alias's callers), then every $LATEST is
// restored, so a rollback is saved after each step and resumes in a later
// invocation like a deployment.
type RollbackStep string

// Rollback steps of a target, in order.
const (
	RollbackNotStarted    RollbackStep = ""
	RollbackAliasRestored RollbackStep = "ALIAS_RESTORED" // the alias serves the previous version again
	RollbackCodeRequested RollbackStep = "CODE_REQUESTED" // Lambda accepted the previous image; waiting for it
)

// NeedsRestore reports whether a rollback still has to restore the target.
func (t *TargetRecord) NeedsRestore() bool { return t.Phase.MayHaveChanged() }

// Record is one deployment.
type Record struct {
	DeploymentID string `dynamodbav:"deploymentId"`
	Timestamp    int64  `dynamodbav:"timestamp"`
	Kind         Kind   `dynamodbav:"kind"`
	Status       Status `dynamodbav:"status"`
	Environment  string `dynamodbav:"environment,omitempty"`
	// JobID is the CodePipeline job the deployment reports to now: each
	// continuation is a new job with a new ID. DeploymentID is the first one.
	JobID string `dynamodbav:"jobId,omitempty"`
	// JobIDs are every job of the deployment, first to current.
	JobIDs              []string `dynamodbav:"jobIds,omitempty"`
	PipelineName        string   `dynamodbav:"pipelineName,omitempty"`
	PipelineExecutionID string   `dynamodbav:"pipelineExecutionId,omitempty"`
	Commit              string   `dynamodbav:"commit,omitempty"`
	ImageURI            string   `dynamodbav:"imageUri,omitempty"`
	ImageDigest         string   `dynamodbav:"imageDigest,omitempty"`
	// RestoredDeploymentID is the SUCCEEDED deployment a rollback request
	// restored.
	RestoredDeploymentID string         `dynamodbav:"restoredDeploymentId,omitempty"`
	Reason               string         `dynamodbav:"reason,omitempty"`
	Targets              []TargetRecord `dynamodbav:"targets"`
	StartedAt            string         `dynamodbav:"startedAt"`
	FinishedAt           string         `dynamodbav:"finishedAt,omitempty"`
	DurationMillis       int64          `dynamodbav:"durationMs,omitempty"`
	Error                string         `dynamodbav:"error,omitempty"`
	// LeaseExpiresAt (Unix ms) is the deadline of the invocation working on
	// the deployment: a retried delivery after it knows that invocation died.
	LeaseExpiresAt int64 `dynamodbav:"leaseExpiresAt,omitempty"`
	// AwaitingContinuation is set while CodePipeline holds a continuation
	// token for the deployment and will invoke the deployer again.
	AwaitingContinuation bool `dynamodbav:"awaitingContinuation,omitempty"`
	// ContinuationToken is the token last handed to CodePipeline: it is
	// re-sent when the hand-off is redelivered, and a continuation is
	// accepted only with exactly this token (it holds a random nonce, so a
	// token of another deployment or an earlier hand-off is refused). It is
	// cleared when a continuation takes it.
	ContinuationToken string `dynamodbav:"continuationToken,omitempty"`
	// RollingBack is set once the deployment failed: later steps restore the
	// targets instead of deploying them.
	RollingBack bool `dynamodbav:"rollingBack,omitempty"`
	// ImageTagged is set once the deployed image carries its deployed tag.
	ImageTagged bool `dynamodbav:"imageTagged,omitempty"`
	// ImageTagError says why the deployed image could not be tagged.
	ImageTagError string `dynamodbav:"imageTagError,omitempty"`
	// Revision increases with every write; writes are conditional on it.
	Revision int64 `dynamodbav:"revision"`
}

// reservation is the item that makes a deployment ID deploy at most once.
type reservation struct {
	DeploymentID    string `dynamodbav:"deploymentId"`
	Timestamp       int64  `dynamodbav:"timestamp"`
	RecordTimestamp int64  `dynamodbav:"recordTimestamp"`
	LeaseExpiresAt  int64  `dynamodbav:"leaseExpiresAt"`
	// Owner is a random ID of the reserving invocation: it recognises its own
	// reservation when the SDK retried a write whose answer was lost.
	Owner string `dynamodbav:"owner"`
}

// ErrConflict means another invocation wrote the record since it was read.
var ErrConflict = errors.New("the deployment record was changed by another invocation")

// Store reads and writes the deployment-history table.
type Store struct {
	client awsapi.Table
	table  string
}

// NewStore returns a Store for the named table.
func NewStore(client awsapi.Table, table string) *Store {
	return &Store{client: client, table: table}
}

// Existing is what a second delivery of a deployment ID finds.
type Existing struct {
	// Record is nil when the first delivery died between writing the reservation and
	// the record: it changed nothing.
	Record *Record
	// ReservationLeaseExpiresAt is the first delivery's deadline (Unix ms).
	ReservationLeaseExpiresAt int64
}

// Reserve creates rec unless its deployment ID was reserved before, in which
// case it returns what the earlier delivery recorded and leaves rec unsaved.
func (s *Store) Reserve(ctx context.Context, rec *Record) (*Existing, error) {
	owner := rand.Text()
	item, err := attributevalue.MarshalMap(reservation{
		DeploymentID:    rec.DeploymentID,
		RecordTimestamp: rec.Timestamp,
		LeaseExpiresAt:  rec.LeaseExpiresAt,
		Owner:           owner,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the reservation of deployment %s: %w", rec.DeploymentID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": contract.HashKey},
	})
	var conditionFailed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &conditionFailed):
		existing, err := s.existing(ctx, rec.DeploymentID, owner)
		if existing != nil || err != nil {
			return existing, err
		}
	case err != nil:
		return nil, fmt.Errorf("reserving deployment %s in table %s: %w", rec.DeploymentID, s.table, err)
	}
	err = s.put(ctx, rec, "attribute_not_exists(#id)", map[string]string{"#id": contract.HashKey}, nil)
	if errors.Is(err, ErrConflict) && s.storedEquals(ctx, rec) {
		err = nil // a retried write whose first attempt succeeded
	}
	if err != nil {
		return nil, fmt.Errorf("creating the record of deployment %s: %w", rec.DeploymentID, err)
	}
	return nil, nil //nolint:nilnil // no Existing: this invocation reserved the ID
}

// existing returns what an earlier reservation of deploymentID recorded, or nil
// when the reservation is this invocation's own (owner).
func (s *Store) existing(ctx context.Context, deploymentID, owner string) (*Existing, error) {
	var c reservation
	found, err := s.get(ctx, deploymentID, 0, &c)
	if err != nil {
		return nil, fmt.Errorf("reading the reservation of deployment %s: %w", deploymentID, err)
	}
	if !found {
		return nil, fmt.Errorf("the reservation of deployment %s vanished from table %s", deploymentID, s.table)
	}
	if c.Owner == owner {
		return nil, nil //nolint:nilnil // no Existing: the reservation is this invocation's own
	}
	existing := &Existing{ReservationLeaseExpiresAt: c.LeaseExpiresAt}
	rec, err := s.Get(ctx, deploymentID, c.RecordTimestamp)
	switch {
	case errors.Is(err, errNotFound):
	case err != nil:
		return nil, err
	default:
		existing.Record = rec
	}
	return existing, nil
}

var errNotFound = errors.New("no such deployment")

// IsNotFound reports whether err means the deployment is not recorded (as
// opposed to the table not answering).
func IsNotFound(err error) bool { return errors.Is(err, errNotFound) }

// Lookup returns what an earlier delivery of deploymentID recorded, or nil
// when the ID was never reserved.
func (s *Store) Lookup(ctx context.Context, deploymentID string) (*Existing, error) {
	var c reservation
	found, err := s.get(ctx, deploymentID, 0, &c)
	if err != nil || !found {
		return nil, err
	}
	return s.existing(ctx, deploymentID, "")
}

// Get reads one deployment record.
func (s *Store) Get(ctx context.Context, deploymentID string, timestamp int64) (*Record, error) {
	var rec Record
	found, err := s.get(ctx, deploymentID, timestamp, &rec)
	if err != nil {
		return nil, fmt.Errorf("reading deployment %s: %w", deploymentID, err)
	}
	if !found {
		return nil, fmt.Errorf("deployment %s at %d: %w", deploymentID, timestamp, errNotFound)
	}
	return &rec, nil
}

func (s *Store) get(ctx context.Context, deploymentID string, timestamp int64, into any) (bool, error) {
	var item map[string]types.AttributeValue
	found, err := s.getRaw(ctx, deploymentID, timestamp, &item)
	if err != nil || !found {
		return found, err
	}
	if err := attributevalue.UnmarshalMap(item, into); err != nil {
		return false, fmt.Errorf("decoding item %s/%d of table %s: %w", deploymentID, timestamp, s.table, err)
	}
	return true, nil
}

func (s *Store) getRaw(ctx context.Context, deploymentID string, timestamp int64, into *map[string]types.AttributeValue) (bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(deploymentID, timestamp),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("table %s: %w", s.table, err)
	}
	*into = out.Item
	return out.Item != nil, nil
}

// Save writes rec if nobody else wrote it since it was read, and advances its
// revision. It returns ErrConflict otherwise.
func (s *Store) Save(ctx context.Context, rec *Record) error {
	read := rec.Revision
	rec.Revision++
	err := s.put(ctx, rec, "#rev = :read",
		map[string]string{"#rev": "revision"},
		map[string]types.AttributeValue{":read": &types.AttributeValueMemberN{Value: strconv.FormatInt(read, 10)}})
	if errors.Is(err, ErrConflict) && s.storedEquals(ctx, rec) {
		// The SDK retried a write that had succeeded (its answer was lost),
		// and the retry failed the condition the first attempt satisfied.
		return nil
	}
	if err != nil {
		rec.Revision = read
		return fmt.Errorf("saving deployment %s: %w", rec.DeploymentID, err)
	}
	return nil
}

// storedEquals reports whether the table holds exactly rec.
func (s *Store) storedEquals(ctx context.Context, rec *Record) bool {
	stored, err := s.Get(ctx, rec.DeploymentID, rec.Timestamp)
	return err == nil && reflect.DeepEqual(stored, rec)
}

func (s *Store) put(ctx context.Context, rec *Record, condition string, names map[string]string, values map[string]types.AttributeValue) error {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fmt.Errorf("encoding the record: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("table %s: %w", s.table, err)
	}
	return nil
}

// RestoreCandidate returns what a rollback request restores by default: the
// deployment that was live before the live one.
//
// The live state is what the newest SUCCEEDED record installed. Its origin
// is the pipeline deployment whose images it runs: the record itself for a
// pipeline deployment, the deployment it restored (followed through) for a
// rollback. The deployment before the live one is the origin of the newest
// SUCCEEDED record that started before the live state's origin; when that
// runs the live image too (restoring it would change nothing), the walk goes
// on from there. Walking from origins means a rollback is never undone by
// default: after rollback R restored A (undoing B), the state before R's is
// the one before A, not B; and after a later deployment C, the one before C
// is A (what R installed), not B.
//
// StatusIndex is a global secondary index, whose reads are eventually
// consistent only ("Read consistency", DynamoDB Developer Guide), so every
// record the choice rests on is read again from the table with a consistent
// read; one that is no longer SUCCEEDED there is skipped.
func (s *Store) RestoreCandidate(ctx context.Context) (*Record, error) {
	succeeded, err := s.succeededNewestFirst(ctx)
	if err != nil {
		return nil, err
	}
	// confirmed reads rec again from the table; ok is false when it is no
	// longer SUCCEEDED there.
	confirmed := func(rec *Record) (current *Record, ok bool, err error) {
		current, err = s.LatestRecord(ctx, rec.DeploymentID)
		if err != nil {
			return nil, false, err
		}
		return current, current.Status == StatusSucceeded, nil
	}
	var live *Record
	for len(succeeded) > 0 && live == nil {
		current, ok, err := confirmed(succeeded[0])
		if err != nil {
			return nil, err
		}
		if ok {
			live = current
		}
		succeeded = succeeded[1:]
	}
	if live == nil {
		return nil, fmt.Errorf("table %s has no SUCCEEDED deployment to restore", s.table)
	}
	current, err := s.origin(ctx, live)
	if err != nil {
		return nil, err
	}
	for _, rec := range succeeded {
		if rec.Timestamp >= current.Timestamp {
			continue // newer than the state being walked back from: undone, or not before it
		}
		still, ok, err := confirmed(rec)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		origin, err := s.origin(ctx, still)
		if err != nil {
			return nil, err
		}
		if origin.ImageURI != live.ImageURI {
			return origin, nil
		}
		current = origin
	}
	return nil, fmt.Errorf("table %s has no SUCCEEDED deployment before the live one (%s, image %s) to restore", s.table, live.DeploymentID, live.ImageURI)
}

// succeededNewestFirst reads the SUCCEEDED records from StatusIndex, newest
// start first.
func (s *Store) succeededNewestFirst(ctx context.Context) ([]*Record, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(contract.StatusIndex),
		KeyConditionExpression:   aws.String("#status = :succeeded"),
		ExpressionAttributeNames: map[string]string{"#status": contract.StatusAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":succeeded": &types.AttributeValueMemberS{Value: string(StatusSucceeded)},
		},
		ScanIndexForward: aws.Bool(false),
	}
	var records []*Record
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("querying index %s of table %s for SUCCEEDED deployments: %w", contract.StatusIndex, s.table, err)
		}
		for _, item := range out.Items {
			var rec Record
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				return nil, fmt.Errorf("decoding a SUCCEEDED deployment: %w", err)
			}
			records = append(records, &rec)
		}
		if out.LastEvaluatedKey == nil {
			return records, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// maxRestoreChain bounds following rollbacks to the deployments they
// restored, against a cycle in a damaged history.
const maxRestoreChain = 100

// origin returns the pipeline deployment whose images rec installed: rec
// itself, or for a rollback the deployment it restored, followed through,
// read with consistent reads.
func (s *Store) origin(ctx context.Context, rec *Record) (*Record, error) {
	for range maxRestoreChain {
		if rec.Kind != KindRollback {
			return rec, nil
		}
		if rec.RestoredDeploymentID == "" {
			return nil, fmt.Errorf("rollback %s of table %s names no restored deployment", rec.DeploymentID, s.table)
		}
		restored, err := s.LatestRecord(ctx, rec.RestoredDeploymentID)
		if err != nil {
			return nil, fmt.Errorf("reading the deployment rollback %s restored: %w", rec.DeploymentID, err)
		}
		if restored.Timestamp >= rec.Timestamp {
			return nil, fmt.Errorf("rollback %s of table %s restored %s, which started after it", rec.DeploymentID, s.table, restored.DeploymentID)
		}
		rec = restored
	}
	return nil, fmt.Errorf("table %s: rollbacks restore rollbacks more than %d times from %s", s.table, maxRestoreChain, rec.DeploymentID)
}

// LatestRecord returns the newest record of a deployment ID (not its reservation).
func (s *Store) LatestRecord(ctx context.Context, deploymentID string) (*Record, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#id = :id AND #ts > :reservation"),
		ExpressionAttributeNames: map[string]string{"#id": contract.HashKey, "#ts": contract.RangeKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id":          &types.AttributeValueMemberS{Value: deploymentID},
			":reservation": &types.AttributeValueMemberN{Value: "0"},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(1),
		ConsistentRead:   aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("querying table %s for deployment %s: %w", s.table, deploymentID, err)
	}
	if len(out.Items) == 0 {
		return nil, fmt.Errorf("table %s has no deployment %s", s.table, deploymentID)
	}
	var rec Record
	if err := attributevalue.UnmarshalMap(out.Items[0], &rec); err != nil {
		return nil, fmt.Errorf("decoding deployment %s: %w", deploymentID, err)
	}
	return &rec, nil
}

func key(deploymentID string, timestamp int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		contract.HashKey:  &types.AttributeValueMemberS{Value: deploymentID},
		contract.RangeKey: &types.AttributeValueMemberN{Value: strconv.FormatInt(timestamp, 10)},
	}
}
