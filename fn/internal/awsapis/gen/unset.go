package main

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strings"

	"github.com/crossplane/function-sdk-go/errors"
)

// The function sets neither a managed resource's spec.initProvider (values
// AWS takes only at creation: the function puts everything in forProvider)
// nor its status.atProvider (the provider's to report; the function reads
// observed resources from the request, not into these structs). Each is a
// tree of types as large as forProvider's, so the copies leave out the two
// fields and every type only they lead to (upjet's *InitParameters and
// *Observation): 0.4 MB of type descriptors in the function's binary, in
// memory from the first request on, and two trees jsonmap walked for every
// composed resource (docs/performance.md, seventh pass). A builder that set
// either would not compile.

// unsetFields are the fields left out, by the suffix of the kind's type
// that declares them.
var unsetFields = map[string]string{"Spec": "InitProvider", "Status": "AtProvider"}

// cut is a range of a source file to leave out.
type cut struct{ from, to int }

// withCuts is src without cuts, each widened to whole lines. A cut's lines
// may hold nothing else but blanks and a trailing comment: a cut of part of
// a line would take the rest of the line with it.
func withCuts(src []byte, cuts []cut) ([]byte, error) {
	cuts = slices.Clone(cuts)
	slices.SortFunc(cuts, func(a, b cut) int { return a.from - b.from })
	var out bytes.Buffer
	at := 0
	for _, c := range cuts {
		from := bytes.LastIndexByte(src[:c.from], '\n') + 1
		to := len(src)
		if i := bytes.IndexByte(src[c.to:], '\n'); i >= 0 {
			to = c.to + i + 1
		}
		if len(bytes.TrimSpace(src[from:c.from])) > 0 {
			return nil, errors.Errorf("cannot cut %q: its line starts with %q", src[c.from:c.to], src[from:c.from])
		}
		if rest := bytes.TrimSpace(src[c.to:to]); len(rest) > 0 && !bytes.HasPrefix(rest, []byte("//")) {
			return nil, errors.Errorf("cannot cut %q: its line goes on with %q", src[c.from:c.to], rest)
		}
		if to <= at {
			continue // Within a cut already made.
		}
		out.Write(src[at:max(at, from)])
		at = to
	}
	out.Write(src[at:])
	return out.Bytes(), nil
}

// withoutUnset leaves out of kind's types file the unsetFields of its Spec
// and Status types and every type declaration the kind and its list no
// longer lead to, and returns the fields left out by the type that
// declared them.
func withoutUnset(src []byte, kind string) ([]byte, map[string][]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	decls := map[string]*ast.GenDecl{}
	types := map[string]*ast.TypeSpec{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		if len(g.Specs) != 1 {
			return nil, nil, errors.New("cannot leave out the unset fields' types from a grouped type declaration")
		}
		if ts, ok := g.Specs[0].(*ast.TypeSpec); ok {
			decls[ts.Name.Name], types[ts.Name.Name] = g, ts
		}
	}

	var cuts []cut
	fields := map[string][]string{}
	unset := map[*ast.Field]bool{}
	for suffix, field := range unsetFields {
		st, ok := types[kind+suffix]
		var found *ast.Field
		if ok {
			if s, ok := st.Type.(*ast.StructType); ok {
				for _, fd := range s.Fields.List {
					if len(fd.Names) == 1 && fd.Names[0].Name == field {
						found = fd
					}
				}
			}
		}
		if found == nil {
			return nil, nil, errors.Errorf("cannot find %s's field %s as upjet writes it", kind+suffix, field)
		}
		from := found.Pos()
		if found.Doc != nil {
			from = found.Doc.Pos()
		}
		cuts = append(cuts, cut{off(from), off(found.End())})
		fields[kind+suffix] = []string{field}
		unset[found] = true
	}

	// The types the kind and its list lead to, before and after the cut:
	// those only the unset fields led to go.
	before, after := reach(types, kind, nil), reach(types, kind, unset)
	var dropped []string
	for name, g := range decls {
		if !before[name] || after[name] {
			continue
		}
		dropped = append(dropped, name)
		from := g.Pos()
		if g.Doc != nil {
			from = g.Doc.Pos()
		}
		cuts = append(cuts, cut{off(from), off(g.End())})
	}
	if len(dropped) == 0 {
		return nil, nil, errors.Errorf("%s's unset fields lead to no type of their own", kind)
	}
	cutSrc, err := withCuts(src, cuts)
	if err != nil {
		return nil, nil, err
	}
	out, err := format.Source(cutSrc)
	if err != nil {
		return nil, nil, err
	}
	if left := idents(out, dropped); len(left) > 0 {
		return nil, nil, errors.Errorf("%s still used outside the fields left out", strings.Join(left, ", "))
	}
	return out, fields, nil
}

// reach is the types of the file that kind and its list lead to through
// their fields, but for the fields skip holds.
func reach(types map[string]*ast.TypeSpec, kind string, skip map[*ast.Field]bool) map[string]bool {
	reached := map[string]bool{}
	next := []string{kind, kind + "List"}
	for len(next) > 0 {
		name := next[len(next)-1]
		next = next[:len(next)-1]
		ts, ok := types[name]
		if !ok || reached[name] {
			continue
		}
		reached[name] = true
		ast.Inspect(ts.Type, func(n ast.Node) bool {
			if fd, ok := n.(*ast.Field); ok && skip[fd] {
				return false
			}
			if id, ok := n.(*ast.Ident); ok && types[id.Name] != nil && !reached[id.Name] {
				next = append(next, id.Name)
			}
			return true
		})
	}
	return reached
}

// idents are those of names that src uses as identifiers, sorted.
func idents(src []byte, names []string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && slices.Contains(names, id.Name) && !slices.Contains(out, id.Name) {
			out = append(out, id.Name)
		}
		return true
	})
	slices.Sort(out)
	return out
}

// unsetStatements are the statements of a deep copy method's body that copy
// a field withoutUnset left out of the receiver's type: they name it as
// in.<field> or out.<field>, the receiver and the argument controller-gen
// writes.
func unsetStatements(fd *ast.FuncDecl, left []string) []ast.Stmt {
	if fd.Body == nil || len(left) == 0 {
		return nil
	}
	var out []ast.Stmt
	for _, s := range fd.Body.List {
		found := false
		ast.Inspect(s, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "in" || id.Name == "out") && slices.Contains(left, sel.Sel.Name) {
					found = true
				}
			}
			return !found
		})
		if found {
			out = append(out, s)
		}
	}
	return out
}
