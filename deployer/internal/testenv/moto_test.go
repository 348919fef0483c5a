package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestMain(m *testing.M) {
	if os.Getenv(dieWithMotoEnv) != "" {
		startMotoAndDie()
	}
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

// dieWithMotoEnv makes the test binary start moto_server, print its process
// ID and die without stopping it, as a panicking or killed test binary does.
const dieWithMotoEnv = "TESTENV_START_MOTO_AND_DIE"

func startMotoAndDie() {
	moto, err := StartMoto()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stdout, moto.cmd.Process.Pid)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
}

// TestMotoDiesWithTheTestBinary: a test binary that dies without stopping
// its moto_server (a panic, go test's -timeout, mutation testing killing it)
// leaves no moto_server behind.
func TestMotoDiesWithTheTestBinary(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip(MissingMotoMessage)
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux ends a child with its parent (moto_linux.go)")
	}
	cmd := exec.CommandContext(context.Background(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), dieWithMotoEnv+"=1")
	out, err := cmd.Output()
	if _, died := errors.AsType[*exec.ExitError](err); !died {
		t.Fatalf("the test binary that starts moto_server did not die: %v, output %q", err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("no moto_server process ID in %q: %v", out, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("moto_server %d outlived the test binary that started it", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
