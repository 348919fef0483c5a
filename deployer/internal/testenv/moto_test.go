package testenv

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestMain(m *testing.M) {
	if err := useStandIns(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// TestMotoServersNeverShareState: moto_servers started at once (as go test
// starts one per package, and other worktrees start theirs) each serve their
// own endpoint, and a reset confirms that nothing is left.
func TestMotoServersNeverShareState(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip(MissingMotoMessage)
	}
	servers := make([]*Moto, 3)
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i := range servers {
		wg.Go(func() { servers[i], errs[i] = StartMoto() })
	}
	wg.Wait()
	for i, server := range servers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(server.Stop)
	}
	if servers[0].Endpoint == servers[1].Endpoint || servers[1].Endpoint == servers[2].Endpoint || servers[0].Endpoint == servers[2].Endpoint {
		t.Fatalf("endpoints %s, %s, %s: two servers share one", servers[0].Endpoint, servers[1].Endpoint, servers[2].Endpoint)
	}
	createTable(t, servers[0], "left-behind")
	if err := servers[1].confirmEmpty(); err != nil {
		t.Errorf("a table created in one moto_server shows in another: %v", err)
	}
	// A table that is there after a reset (another process wrote it) fails
	// the check with the reason.
	if err := servers[0].confirmEmpty(); err == nil || !strings.Contains(err.Error(), "left-behind") {
		t.Errorf("confirmEmpty() = %v, want an error naming the table left behind", err)
	}
	if err := servers[0].Reset(); err != nil {
		t.Errorf("Reset() = %v, want it to clear the table", err)
	}
}

func createTable(t *testing.T, m *Moto, name string) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithBaseEndpoint(m.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	account := newAccount(Account{ID: DefaultAccountID, Config: cfg})
	account.CreateHistoryTable(t, name)
	if _, err := account.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
}
