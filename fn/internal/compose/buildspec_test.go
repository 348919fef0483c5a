package compose

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommandsBuildspecAsSigsYAML: commandsBuildspec gives the bytes
// sigs.k8s.io/yaml's JSON round trip gives, for commands YAML must quote,
// fold or escape, and for random ones.
func TestCommandsBuildspecAsSigsYAML(t *testing.T) {
	cases := [][]string{
		nil,
		{},
		{""},
		{"make test"},
		{"true", "null", "~", "1", "1.5", "0x1F", "1e3", "yes", "no", "on", "off", "y", "n", "2001-12-14"},
		{"- item", "key: value", "# comment", "a #b", "&anchor", "*alias", "!tag", "|", ">", "%x", "@x", "`x", "{a}", "[a]", "'q'", "\"q\""},
		{" leading", "trailing ", "tab\there", "line\nbreak", "crlf\r\n", "\x00nul", "\x7f", "\u00e9\u4e2d\U0001F600", "\u2028\u2029", "\ufeffbom"},
		{strings.Repeat("word ", 60), strings.Repeat("x", 300), "go test ./... && echo \"done: $?\" > out.txt <in 2>&1"},
		{"bad\xffutf8"},
	}
	r := rand.New(rand.NewPCG(14, 3))
	// The second alphabet has only characters commandsBuildspec encodes
	// itself, so most of its commands take that path.
	alphabets := [][]rune{
		[]rune("ab :#-'\"\\\n\t{}[],&*!|>%@`?=0123456789.eE+~\u00e9\u4e2d\x01\x7f\u2028"),
		[]rune("ab :#-'\"\\\n\t{}[],&*!|>%@`?=0123456789.eE+~\u00e9\u4e2d\u2028\u00a0\U0001F600"),
	}
	direct := 0
	for n := range 1000 {
		alphabet := alphabets[n%2]
		cmds := make([]string, 1+r.IntN(4))
		for i := range cmds {
			b := make([]rune, r.IntN(100))
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			cmds[i] = string(b)
		}
		cases = append(cases, cmds)
		if all(cmds, plainText) {
			direct++
		}
	}
	if direct < 400 {
		t.Fatalf("only %d random cases take commandsBuildspec's own encoding", direct)
	}
	for i, cmds := range cases {
		want, wantErr := commandsBuildspecViaJSON(cmds)
		got, gotErr := commandsBuildspec(cmds)
		if diff := cmp.Diff(want, got); diff != "" || (wantErr == nil) != (gotErr == nil) {
			t.Errorf("case %d %q: error %v, want %v; -want, +got:\n%s", i, cmds, gotErr, wantErr, diff)
		}
	}
}
