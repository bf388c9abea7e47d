// Package validate checks request messages against the validation options
// the Yandex Cloud protos declare on their fields (yandex.cloud.required,
// pattern, length, size, value, map_key, unique and exactly_one). Rules are
// read from the compiled descriptors, so every service gets them for free
// and they cannot drift from the published API.
package validate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	yc "github.com/yandex-cloud/go-genproto/yandex/cloud"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Error is a violation: Field is the path of the offending field in proto
// names (labels.env, access_bindings[0].role_id).
type Error struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// Message validates m and returns the first violation found, or nil. A
// message whose type has no rule, at any depth, and cannot nest without
// bound costs a cache lookup; fields that cannot break a rule are not
// walked.
func Message(m proto.Message) error {
	pm := m.ProtoReflect()
	if !needsWalk(pm.Descriptor()) {
		return nil
	}
	w := &walker{steps: make([]step, 0, 8)} // most requests nest less
	return w.message(pm, 1)
}

// Rules validates m as Message does, but skips, as well as types without
// rules, types that would be walked only for MaxDepth: for a message whose
// nesting the caller has bounded already (a JSON body within
// jsonbody.MaxDepth nests less than MaxDepth).
func Rules(m proto.Message) error {
	pm := m.ProtoReflect()
	if !needsRules(pm.Descriptor()) {
		return nil
	}
	w := &walker{steps: make([]step, 0, 8)}
	return w.message(pm, 1)
}

var walkCache, rulesCache sync.Map // protoreflect.FullName → bool

// needsRules reports whether a message of type md can break a rule other
// than MaxDepth.
func needsRules(md protoreflect.MessageDescriptor) bool {
	if v, ok := rulesCache.Load(md.FullName()); ok {
		return v.(bool)
	}
	v := reachesRule(md, map[protoreflect.FullName]bool{}, false)
	rulesCache.Store(md.FullName(), v)
	return v
}

// needsWalk reports whether a message of type md can break a rule: a field
// with one, an exactly_one oneof, a string that proto3 does not check
// (UTF-8) at any depth, or a cycle of types (MaxDepth).
func needsWalk(md protoreflect.MessageDescriptor) bool {
	if v, ok := walkCache.Load(md.FullName()); ok {
		return v.(bool)
	}
	v := reachesRule(md, map[protoreflect.FullName]bool{}, true)
	walkCache.Store(md.FullName(), v)
	return v
}

// reachesRule reports whether a message of type md, or one nested in it,
// has a field with a rule, an exactly_one oneof or a string proto3 does
// not check. A type met again on the path being walked is a cycle, which
// counts as cycle says (for MaxDepth, a cycle is a rule: messages may nest
// without bound); without cycle, a type seen anywhere before is not looked
// at again.
func reachesRule(md protoreflect.MessageDescriptor, visiting map[protoreflect.FullName]bool, cycle bool) bool {
	if visiting[md.FullName()] {
		return cycle
	}
	visiting[md.FullName()] = true
	if cycle {
		defer delete(visiting, md.FullName())
	}
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		if exactlyOne(oneofs.Get(i)) {
			return true
		}
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fieldRules(fd).any() || !checkedOnDecode(fd) {
			return true
		}
		if sub := messageOf(fd); sub != nil && reachesRule(sub, visiting, cycle) {
			return true
		}
	}
	return false
}

// skippable reports whether a field (of a message being walked) cannot
// break a rule.
func skippable(fd protoreflect.FieldDescriptor) bool {
	if fieldRules(fd).any() || !checkedOnDecode(fd) {
		return false
	}
	sub := messageOf(fd)
	return sub == nil || !needsWalk(sub)
}

// messageOf is the message type of a field's values (a map's values), or
// nil for scalars.
func messageOf(fd protoreflect.FieldDescriptor) protoreflect.MessageDescriptor {
	if fd.IsMap() {
		fd = fd.MapValue()
	}
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return fd.Message()
	}
	return nil
}

// checkedOnDecode reports whether the protobuf decoders already refuse
// what scalar checks of a field without rules (proto3 strings are checked
// for UTF-8; map keys too).
func checkedOnDecode(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return checkedOnDecode(fd.MapKey()) && checkedOnDecode(fd.MapValue())
	}
	return fd.Kind() != protoreflect.StringKind || fd.ParentFile() == nil || fd.ParentFile().Syntax() == protoreflect.Proto3
}

type rules struct {
	required bool
	pattern  *regexp.Regexp
	length   *bounds
	size     *bounds
	value    *bounds
	valueTS  *[2]time.Time
	unique   bool
	mapKey   *rules
}

type bounds struct{ min, max *float64 }

// any reports whether there is a rule.
func (r *rules) any() bool {
	return r.required || r.pattern != nil || r.length != nil || r.size != nil || r.value != nil || r.valueTS != nil || r.unique || r.mapKey != nil
}

var cache sync.Map // protoreflect.FieldDescriptor → *rules

func fieldRules(fd protoreflect.FieldDescriptor) *rules {
	if r, ok := cache.Load(fd); ok {
		return r.(*rules)
	}
	r := &rules{}
	if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts != nil {
		r.required = proto.GetExtension(opts, yc.E_Required).(bool)
		r.unique = proto.GetExtension(opts, yc.E_Unique).(bool)
		r.pattern = compile(proto.GetExtension(opts, yc.E_Pattern).(string))
		r.length = parseBounds(proto.GetExtension(opts, yc.E_Length).(string))
		r.size = parseBounds(proto.GetExtension(opts, yc.E_Size).(string))
		if v := proto.GetExtension(opts, yc.E_Value).(string); v != "" {
			if fd.Kind() == protoreflect.MessageKind && fd.Message().FullName() == "google.protobuf.Timestamp" {
				r.valueTS = parseTimeBounds(v)
			} else {
				r.value = parseBounds(v)
			}
		}
		if mk, _ := proto.GetExtension(opts, yc.E_MapKey).(*yc.MapKeySpec); mk != nil {
			r.mapKey = &rules{pattern: compile(mk.Pattern), length: parseBounds(mk.Length), value: parseBounds(mk.Value)}
		}
	}
	cache.Store(fd, r)
	return r
}

var oneofCache sync.Map // protoreflect.OneofDescriptor → bool

// exactlyOne reports whether a oneof carries yandex.cloud.exactly_one,
// cached: reading an extension costs more than the rest of a visit.
func exactlyOne(od protoreflect.OneofDescriptor) bool {
	if v, ok := oneofCache.Load(od); ok {
		return v.(bool)
	}
	opts, ok := od.Options().(*descriptorpb.OneofOptions)
	v := ok && opts != nil && proto.GetExtension(opts, yc.E_ExactlyOne).(bool)
	oneofCache.Store(od, v)
	return v
}

var patterns sync.Map

func compile(p string) *regexp.Regexp {
	if p == "" {
		return nil
	}
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil {
		return nil // a pattern Go cannot compile is not enforced
	}
	patterns.Store(p, re)
	return re
}

// parseBounds reads "<=50", ">=1", "<10", "1-63", "0-1000" or "5".
func parseBounds(s string) *bounds {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	num := func(v string) *float64 {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil
		}
		return &f
	}
	switch {
	case strings.HasPrefix(s, "<="):
		return &bounds{max: num(s[2:])}
	case strings.HasPrefix(s, ">="):
		return &bounds{min: num(s[2:])}
	case strings.HasPrefix(s, "<"):
		if n := num(s[1:]); n != nil {
			m := *n - 1
			return &bounds{max: &m}
		}
	case strings.HasPrefix(s, ">"):
		if n := num(s[1:]); n != nil {
			m := *n + 1
			return &bounds{min: &m}
		}
	}
	if lo, hi, ok := strings.Cut(s[1:], "-"); ok {
		return &bounds{min: num(s[:1] + lo), max: num(hi)}
	}
	n := num(s)
	return &bounds{min: n, max: n}
}

const tsLayout = "20060102T150405.999999999"

func parseTimeBounds(s string) *[2]time.Time {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return nil
	}
	a, err1 := time.Parse(tsLayout, lo)
	b, err2 := time.Parse(tsLayout, hi)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &[2]time.Time{a, b}
}

func (b *bounds) check(v float64) bool {
	return (b.min == nil || v >= *b.min) && (b.max == nil || v <= *b.max)
}

func (b *bounds) describe() string {
	switch {
	case b.min != nil && b.max != nil && *b.min == *b.max:
		return fmt.Sprintf("exactly %g", *b.min)
	case b.min != nil && b.max != nil:
		return fmt.Sprintf("from %g to %g", *b.min, *b.max)
	case b.max != nil:
		return fmt.Sprintf("at most %g", *b.max)
	default:
		return fmt.Sprintf("at least %g", *b.min)
	}
}

// MaxDepth bounds how deeply messages may nest in a request. A free-form
// google.protobuf.Value nests two messages per JSON level, so every body
// within jsonbody.MaxDepth (64) fits; deeper ones arrive only over gRPC,
// whose decoder allows 10,000 levels, and are refused here rather than
// walked.
const MaxDepth = 2*64 + 16

// walker walks a message keeping the path to the current field as a stack
// of steps; the path's string is made only for an error. Building it at
// every level instead made a deep message cost time quadratic in its depth
// (a 9,000-deep body took seconds).
type walker struct {
	steps []step
}

type step struct {
	kind  stepKind
	name  string // field name, map key
	index int    // list index
}

type stepKind uint8

const (
	stepField    stepKind = iota // .name (no dot at the top)
	stepIndex                    // [index]
	stepMapValue                 // .key
	stepMapKey                   // ' key "key"'
)

func (w *walker) push(s step) { w.steps = append(w.steps, s) }
func (w *walker) pop()        { w.steps = w.steps[:len(w.steps)-1] }

// path renders the current path in proto names: labels.env,
// access_bindings[0].role_id, labels key "Env".
func (w *walker) path() string {
	var b strings.Builder
	for _, s := range w.steps {
		switch s.kind {
		case stepField, stepMapValue:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.name)
		case stepIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case stepMapKey:
			b.WriteString(" key ")
			b.WriteString(strconv.Quote(s.name))
		}
	}
	return b.String()
}

func (w *walker) violation(reason string) *Error {
	return &Error{Field: w.path(), Reason: reason}
}

func (w *walker) message(m protoreflect.Message, depth int) error {
	if depth > MaxDepth {
		field := w.path()
		if len(field) > 100 {
			field = strings.ToValidUTF8(field[:100], "") + "…"
		}
		return &Error{Field: field, Reason: fmt.Sprintf("nests messages deeper than %d levels", MaxDepth)}
	}
	p := planOf(m.Descriptor())
	for _, od := range p.exactlyOne {
		if m.WhichOneof(od) == nil {
			w.push(step{name: string(od.Name())})
			return w.violation("exactly one of its fields must be set")
		}
	}
	masked := updateMask(len(w.steps) == 0, m)
	for _, fd := range p.fields {
		if masked != nil && !masked[string(fd.Name())] && !strings.HasSuffix(string(fd.Name()), "_id") && !m.Has(fd) {
			// An update leaves fields outside its mask alone, so they are
			// not required even where the proto marks them so.
			continue
		}
		w.push(step{name: string(fd.Name())})
		if err := w.field(m, fd, depth); err != nil {
			return err
		}
		w.pop()
	}
	return nil
}

// plan is what of a message type is checked: its exactly_one oneofs and
// the fields that can break a rule, in order.
type plan struct {
	exactlyOne []protoreflect.OneofDescriptor
	fields     []protoreflect.FieldDescriptor
}

var plans sync.Map // protoreflect.FullName → *plan

func planOf(md protoreflect.MessageDescriptor) *plan {
	if p, ok := plans.Load(md.FullName()); ok {
		return p.(*plan)
	}
	p := &plan{}
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		if od := oneofs.Get(i); exactlyOne(od) {
			p.exactlyOne = append(p.exactlyOne, od)
		}
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); !skippable(fd) {
			p.fields = append(p.fields, fd)
		}
	}
	plans.Store(md.FullName(), p)
	return p
}

// updateMask returns the top-level fields an update request's mask names
// (an empty set when the mask is empty: such an update touches only the
// fields it sets), or nil when m is not an update request.
func updateMask(top bool, m protoreflect.Message) map[string]bool {
	if !top {
		return nil
	}
	fd := m.Descriptor().Fields().ByName("update_mask")
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != "google.protobuf.FieldMask" {
		return nil
	}
	set := map[string]bool{}
	if !m.Has(fd) {
		return set
	}
	paths := m.Get(fd).Message().Interface().(*fieldmaskpb.FieldMask).GetPaths()
	for _, p := range paths {
		top, _, _ := strings.Cut(p, ".")
		set[top] = true
	}
	return set
}

// field checks the field on top of the path.
func (w *walker) field(m protoreflect.Message, fd protoreflect.FieldDescriptor, depth int) error {
	r := fieldRules(fd)
	has := m.Has(fd)
	if r.required && !has {
		return w.violation("is required")
	}
	if !has {
		// An empty list or map is not "set" in proto3, but a size with a
		// lower bound ("1-1000") still refuses it.
		if r.size != nil && (fd.IsList() || fd.IsMap()) && !r.size.check(0) {
			what := " elements"
			if fd.IsMap() {
				what = " entries"
			}
			return w.violation("must have " + r.size.describe() + what)
		}
		return nil
	}
	v := m.Get(fd)
	switch {
	case fd.IsMap():
		mp := v.Map()
		if r.size != nil && !r.size.check(float64(mp.Len())) {
			return w.violation("must have " + r.size.describe() + " entries")
		}
		var err error
		mp.Range(func(k protoreflect.MapKey, val protoreflect.Value) bool {
			key := k.String()
			if r.mapKey != nil {
				w.push(step{kind: stepMapKey, name: key})
				if err = w.scalar(r.mapKey, fd.MapKey(), k.Value()); err != nil {
					return false
				}
				w.pop()
			}
			w.push(step{kind: stepMapValue, name: key})
			if err = w.element(r, fd.MapValue(), val, depth); err != nil {
				return false
			}
			w.pop()
			return true
		})
		return err
	case fd.IsList():
		l := v.List()
		if r.size != nil && !r.size.check(float64(l.Len())) {
			return w.violation("must have " + r.size.describe() + " elements")
		}
		var seen map[any]bool
		for i := 0; i < l.Len(); i++ {
			w.push(step{kind: stepIndex, index: i})
			if r.unique && fd.Kind() != protoreflect.MessageKind {
				if seen == nil {
					seen = map[any]bool{}
				}
				if seen[l.Get(i).Interface()] {
					return w.violation("duplicates an earlier element")
				}
				seen[l.Get(i).Interface()] = true
			}
			if err := w.element(r, fd, l.Get(i), depth); err != nil {
				return err
			}
			w.pop()
		}
		return nil
	}
	return w.element(r, fd, v, depth)
}

func (w *walker) element(r *rules, fd protoreflect.FieldDescriptor, v protoreflect.Value, depth int) error {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		if r.valueTS != nil {
			t := v.Message().Interface().(*timestamppb.Timestamp).AsTime()
			if t.Before(r.valueTS[0]) || t.After(r.valueTS[1]) {
				return w.violation("is out of the allowed time range")
			}
		}
		return w.message(v.Message(), depth+1)
	}
	return w.scalar(r, fd, v)
}

func (w *walker) scalar(r *rules, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		s := v.String()
		if !utf8.ValidString(s) {
			return w.violation("is not valid UTF-8")
		}
		if r.length != nil && !r.length.check(float64(utf8.RuneCountInString(s))) {
			return w.violation("length must be " + r.length.describe() + " characters")
		}
		if r.pattern != nil && !r.pattern.MatchString(s) {
			return w.violation(fmt.Sprintf("must match the pattern %s", strings.TrimSuffix(strings.TrimPrefix(r.pattern.String(), "^(?:"), ")$")))
		}
	case protoreflect.BytesKind:
		if r.length != nil && !r.length.check(float64(len(v.Bytes()))) {
			return w.violation("length must be " + r.length.describe() + " bytes")
		}
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind, protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		if r.value != nil && !r.value.check(float64(v.Int())) {
			return w.violation("must be " + r.value.describe())
		}
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		if r.value != nil && !r.value.check(float64(v.Uint())) {
			return w.violation("must be " + r.value.describe())
		}
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		if r.value != nil && !r.value.check(v.Float()) {
			return w.violation("must be " + r.value.describe())
		}
	}
	return nil
}
