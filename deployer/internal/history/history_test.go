package history

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

func newStore(t *testing.T) *Store {
	t.Helper()
	testenv.RequireMoto(t)
	account := testenv.DefaultAccount(t)
	account.CreateHistoryTable(t, "history")
	return NewStore(account.DynamoDB, "history")
}

func record(id string, timestamp int64, status Status) *Record {
	return &Record{DeploymentID: id, Timestamp: timestamp, Kind: KindPipeline, Status: status, LeaseExpiresAt: 99,
		Targets: []TargetRecord{{FunctionName: "api", Phase: PhasePending, NewImage: "img"}}}
}

func TestReservationMakesADeploymentIDUnique(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	first := record("job-1", 1000, StatusInProgress)
	if existing, err := store.Reserve(ctx, first); err != nil || existing != nil {
		t.Fatalf("first Reserve() = %+v, %v; want it reserved", existing, err)
	}
	// A second delivery starts later, with another start time: it must find
	// the first one's record, not create its own.
	existing, err := store.Reserve(ctx, record("job-1", 2000, StatusInProgress))
	if err != nil {
		t.Fatal(err)
	}
	want := &Existing{Record: first, ReservationLeaseExpiresAt: 99}
	if diff := cmp.Diff(want, existing); diff != "" {
		t.Errorf("second Reserve() (-want +got):\n%s", diff)
	}
	if _, err := store.Get(ctx, "job-1", 2000); err == nil {
		t.Error("the second delivery created a record")
	}
}

// retriedWrites sends every conditional write twice and answers with the
// second attempt, as the SDK's retry of a write whose first answer was lost
// does: the item is written, and the retry fails its condition.
type retriedWrites struct{ *dynamodb.Client }

func (r *retriedWrites) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if in.ConditionExpression == nil {
		return r.Client.PutItem(ctx, in, opts...)
	}
	if _, err := r.Client.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return r.Client.PutItem(ctx, in, opts...)
}

// TestRetriedWritesAreTheInvocationsOwn: a reservation, record or save whose
// write the SDK retried is this invocation's, not an earlier delivery's or a
// concurrent writer's: the deployment is reserved, recorded and saved.
func TestRetriedWritesAreTheInvocationsOwn(t *testing.T) {
	testenv.RequireMoto(t)
	account := testenv.DefaultAccount(t)
	account.CreateHistoryTable(t, "history")
	store := NewStore(&retriedWrites{Client: account.DynamoDB}, "history")
	ctx := context.Background()
	rec := record("job-retried", 1000, StatusInProgress)
	if existing, err := store.Reserve(ctx, rec); err != nil || existing != nil {
		t.Fatalf("Reserve() = %+v, %v; want it reserved", existing, err)
	}
	stored, err := store.Get(ctx, "job-retried", 1000)
	if err != nil {
		t.Fatalf("the reserved deployment has no record: %v", err)
	}
	if diff := cmp.Diff(rec, stored); diff != "" {
		t.Errorf("stored record (-want +got):\n%s", diff)
	}
	rec.Status = StatusSucceeded
	if err := store.Save(ctx, rec); err != nil {
		t.Fatalf("Save() of a retried write: %v", err)
	}
	stored, err = store.Get(ctx, "job-retried", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != StatusSucceeded || stored.Revision != 1 || rec.Revision != 1 {
		t.Errorf("stored status %s revision %d (in memory %d), want SUCCEEDED at revision 1", stored.Status, stored.Revision, rec.Revision)
	}
}

func TestSaveDetectsAConcurrentWriter(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	mine := record("job-2", 1000, StatusInProgress)
	if _, err := store.Reserve(ctx, mine); err != nil {
		t.Fatal(err)
	}
	theirs, err := store.Get(ctx, "job-2", 1000)
	if err != nil {
		t.Fatal(err)
	}
	theirs.Status = StatusFailed
	if err := store.Save(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	mine.Status = StatusSucceeded
	if err := store.Save(ctx, mine); !errors.Is(err, ErrConflict) {
		t.Fatalf("Save() of a stale record: error = %v, want ErrConflict", err)
	}
	if mine.Revision != 0 {
		t.Errorf("a failed Save() advanced the revision to %d", mine.Revision)
	}
	stored, err := store.Get(ctx, "job-2", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != StatusFailed || stored.Revision != 1 {
		t.Errorf("stored status %s revision %d, want the concurrent writer's FAILED at revision 1", stored.Status, stored.Revision)
	}
}

func TestRestoreCandidateIsTheSucceededDeploymentBeforeTheLiveOne(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	if _, err := store.RestoreCandidate(ctx); err == nil {
		t.Fatal("RestoreCandidate() of an empty table: no error")
	}
	withImage := func(rec *Record, image string, kind Kind) *Record {
		rec.ImageURI, rec.Kind = image, kind
		return rec
	}
	for _, rec := range []*Record{
		withImage(record("job-a", 1000, StatusSucceeded), "img-1", KindPipeline),
		withImage(record("job-b", 3000, StatusSucceeded), "img-2", KindPipeline),
		withImage(record("job-c", 4000, StatusRolledBack), "img-3", KindPipeline),
		withImage(record("job-d", 2000, StatusSucceeded), "img-1", KindPipeline),
		// The live one: a rollback request that restored img-2 again.
		restoring(withImage(record("rollback-x", 5000, StatusSucceeded), "img-2", KindRollback), "job-b"),
	} {
		if _, err := store.Reserve(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.RestoreCandidate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeploymentID != "job-d" {
		t.Errorf("RestoreCandidate() = %s, want job-d (the newest SUCCEEDED pipeline deployment of another image than the live rollback-x)", got.DeploymentID)
	}
	latest, err := store.LatestRecord(ctx, "job-c")
	if err != nil || latest.Status != StatusRolledBack {
		t.Errorf("LatestRecord(job-c) = %+v, %v", latest, err)
	}
}

func restoring(rec *Record, deploymentID string) *Record {
	rec.RestoredDeploymentID = deploymentID
	return rec
}

// TestDefaultRollbackNeverUndoesARollback: "the deployment before the live
// one" walks back from the deployment whose images are live, so a rollback
// that undid B is never undone by the next default request, nor by the one
// after a later deployment.
func TestDefaultRollbackNeverUndoesARollback(t *testing.T) {
	pipeline := func(id string, timestamp int64, image string) *Record {
		rec := record(id, timestamp, StatusSucceeded)
		rec.ImageURI = image
		return rec
	}
	rollback := func(id string, timestamp int64, image, restored string) *Record {
		rec := pipeline(id, timestamp, image)
		rec.Kind, rec.RestoredDeploymentID = KindRollback, restored
		return rec
	}
	history := []*Record{
		pipeline("job-z", 500, "img-0"),
		pipeline("job-a", 1000, "img-1"),
		pipeline("job-b", 2000, "img-2"),
		rollback("rollback-r", 3000, "img-1", "job-a"), // B undone: A is live
	}
	cases := map[string]struct {
		more []*Record
		want string
	}{
		"after the rollback": {want: "job-z"},
		"after a deployment that followed the rollback": {
			more: []*Record{pipeline("job-c", 4000, "img-3")},
			want: "job-a",
		},
		// "Before" is strictly earlier: a deployment that started in the
		// same millisecond as the live state's origin is not before it.
		"a deployment started with the live origin": {
			more: []*Record{pipeline("job-tie", 1000, "img-tie")},
			want: "job-z",
		},
		"after a second default rollback": {
			more: []*Record{rollback("rollback-s", 4000, "img-0", "job-z"), pipeline("job-y", 100, "img-9")},
			want: "job-y",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			store := newStore(t)
			ctx := context.Background()
			for _, rec := range slices.Concat(history, tc.more) {
				if _, err := store.Reserve(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			got, err := store.RestoreCandidate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.DeploymentID != tc.want {
				t.Errorf("RestoreCandidate() = %s (image %s), want %s", got.DeploymentID, got.ImageURI, tc.want)
			}
		})
	}
}

// staleIndex answers queries of StatusIndex as a lagging global secondary
// index may: a deployment whose record the table already holds as
// ROLLED_BACK is still listed as SUCCEEDED.
type staleIndex struct {
	*dynamodb.Client
	stale string
}

func (s *staleIndex) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := s.Client.Query(ctx, in, opts...)
	if err != nil || in.IndexName == nil {
		return out, err
	}
	rec := record(s.stale, 2500, StatusSucceeded)
	rec.ImageURI = "img-stale"
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return nil, err
	}
	out.Items = append([]map[string]types.AttributeValue{item}, out.Items...)
	return out, nil
}

// TestRestoreCandidateConfirmsTheIndex: the index is eventually consistent,
// so the choice is confirmed against the table.
func TestRestoreCandidateConfirmsTheIndex(t *testing.T) {
	testenv.RequireMoto(t)
	account := testenv.DefaultAccount(t)
	account.CreateHistoryTable(t, "history")
	store := NewStore(&staleIndex{Client: account.DynamoDB, stale: "job-stale"}, "history")
	ctx := context.Background()
	older, live := record("job-a", 1000, StatusSucceeded), record("job-b", 2000, StatusSucceeded)
	older.ImageURI, live.ImageURI = "img-1", "img-2"
	stale := record("job-stale", 2500, StatusRolledBack)
	stale.ImageURI = "img-stale"
	for _, rec := range []*Record{older, live, stale} {
		if _, err := store.Reserve(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.RestoreCandidate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeploymentID != "job-a" {
		t.Errorf("RestoreCandidate() = %s, want job-a: job-stale is ROLLED_BACK in the table, so job-b is live", got.DeploymentID)
	}
}

// TestDamagedRestoreChainIsRefused: a rollback restores a deployment that
// started before it; one that names itself, or a later deployment, is a
// damaged history and stops the walk at once, naming the rollback.
func TestDamagedRestoreChainIsRefused(t *testing.T) {
	cases := map[string]struct {
		restored  *Record
		wantError string
	}{
		"a rollback that restored itself": {
			wantError: "rollback rollback-r of table history restored rollback-r, which started after it",
		},
		"a rollback that restored a later deployment": {
			restored:  record("job-later", 4000, StatusSucceeded),
			wantError: "rollback rollback-r of table history restored job-later, which started after it",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			store := newStore(t)
			ctx := context.Background()
			live := restoring(record("rollback-r", 3000, StatusSucceeded), "rollback-r")
			live.Kind = KindRollback
			records := []*Record{record("job-a", 1000, StatusSucceeded), live}
			if tc.restored != nil {
				live.RestoredDeploymentID = tc.restored.DeploymentID
				tc.restored.Status = StatusRolledBack // not live itself
				records = append(records, tc.restored)
			}
			for _, rec := range records {
				if _, err := store.Reserve(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			got, err := store.RestoreCandidate(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("RestoreCandidate() = %+v, %v; want an error containing %q", got, err, tc.wantError)
			}
		})
	}
}

func TestTargetLeases(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	byName := []TargetRecord{{FunctionName: "api"}}
	byARN := []TargetRecord{{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:api"}}
	if _, err := store.LeaseTargets(ctx, "job-1", byName); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LeaseTargets(ctx, "job-1", byName); err != nil {
		t.Errorf("renewing its own lease: %v", err)
	}
	_, err := store.LeaseTargets(ctx, "job-2", byARN)
	if busy, ok := errors.AsType[*TargetBusyError](err); !ok || !errors.Is(err, ErrTargetBusy) || busy.Holder != "job-1" {
		t.Errorf("leasing a leased function by ARN: error %v, want ErrTargetBusy naming job-1", err)
	}
	if _, err := store.LeaseTargets(ctx, "job-2", []TargetRecord{{FunctionName: "api", RoleARN: "arn:aws:iam::444455556666:role/r"}}); err != nil {
		t.Errorf("the same name in another account: %v", err)
	}
	if _, err := store.LeaseTargets(ctx, "job-2", []TargetRecord{{FunctionName: "worker"}}); err != nil {
		t.Errorf("another function in the same account: %v", err)
	}
	if err := store.ReleaseTargets(ctx, "job-2", byName); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LeaseTargets(ctx, "job-2", byName); !errors.Is(err, ErrTargetBusy) {
		t.Errorf("another deployment's release freed job-1's lease: error %v", err)
	}
	if err := store.ReleaseTargets(ctx, "job-1", byName); err != nil {
		t.Fatal(err)
	}
	if stale, err := store.LeaseTargets(ctx, "job-2", byARN); err != nil || len(stale) != 0 {
		t.Errorf("leasing a released function: stale holders %v, error %v; want none", stale, err)
	}
}

// TestFunctionShortName: the name after the last colon of a function ARN or
// partial ARN (Lambda API reference, FunctionName), the name itself
// otherwise.
func TestFunctionShortName(t *testing.T) {
	for in, want := range map[string]string{
		"api": "api",
		"arn:aws:lambda:us-east-1:123456789012:function:api": "api",
		"123456789012:function:api":                          "api",
		":api":                                               "api",
		"":                                                   "",
	} {
		if got := FunctionShortName(in); got != want {
			t.Errorf("FunctionShortName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTargetLeaseOutlivesOnlyTheActionTimeout: CodePipeline times a Lambda
// invoke action out after 20 minutes without a reply ("Quotas in AWS
// CodePipeline"); a lease must not block the function much longer, and a
// lease taken after its expiry names the holder that never released it.
func TestTargetLeaseOutlivesOnlyTheActionTimeout(t *testing.T) {
	if TargetLeaseDuration <= 20*time.Minute || TargetLeaseDuration > 30*time.Minute {
		t.Errorf("TargetLeaseDuration = %s, want just over CodePipeline's 20-minute timeout", TargetLeaseDuration)
	}
	store := newStore(t)
	ctx := context.Background()
	targets := []TargetRecord{{FunctionName: "api"}}
	if _, err := store.LeaseTargets(ctx, "job-1", targets); err != nil {
		t.Fatal(err)
	}
	expire(t, store, leaseID(targets[0]), "job-1")
	stale, err := store.LeaseTargets(ctx, "job-2", targets)
	if err != nil || !slices.Equal(stale, []string{"job-1"}) {
		t.Errorf("taking an expired lease: stale holders %v, error %v; want [job-1]", stale, err)
	}
}

// expire moves a lease's expiry into the past, keeping its holder.
func expire(t *testing.T, store *Store, id, holder string) {
	t.Helper()
	item, err := attributevalue.MarshalMap(targetLease{DeploymentID: id, Owner: holder, ExpiresAt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(store.table), Item: item}); err != nil {
		t.Fatal(err)
	}
}
